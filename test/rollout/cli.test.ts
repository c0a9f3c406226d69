import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliAgainst } from '../helpers/cli.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { providerRows, routingState } from './provider-rows.ts';

const SLOW = 120_000;

describeEachDriver('genloop rollout (CLI)', (use, driver) => {
  let dataDir = '';
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'genloop-rollout-cli-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const { run, withDb } = cliAgainst({
    driver,
    database: use,
    dataDir: () => dataDir,
    env: { USER: 'ci-operator' },
  });

  it(
    'apply --env single_db migrates, applies the overlay and logs; a second apply changes nothing',
    async () => {
      const first = await run(['rollout', 'apply', '--env', 'single_db']);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('applied overlay single_db.sql in one transaction');
      const state = await withDb((db) => providerRows(db, { withUpdatedAt: true }));
      const second = await run(['rollout', 'apply', '--env', 'single_db']);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('migrations: database is up to date');
      expect(await withDb((db) => providerRows(db, { withUpdatedAt: true }))).toEqual(state);
    },
    SLOW,
  );

  it(
    'verify --env single_db prints every check and PASS, exit 0',
    async () => {
      const result = await run(['rollout', 'verify', '--env', 'single_db']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      for (const name of [
        'preflight_tables',
        'preflight_columns',
        'provider_configs',
        'single_db_counts',
        'defaults_per_environment',
        'eval_objects',
        'indexes',
      ]) {
        expect(result.stdout).toMatch(new RegExp(`\\[PASS\\] \\d/7 ${name} `));
      }
      expect(result.stdout).toMatch(
        /prod_default_count\s+non_prod_enabled_count\n-+\s+-+\n1\s+0\n/,
      );
      expect(result.stdout).toMatch(
        /\nPASS: 7 of 7 checks passed for single_db \(logged as rollout log #\d+\)\n$/,
      );
    },
    SLOW,
  );

  it(
    'verify exits 2 and names the failing check when a staging row is enabled; apply repairs it',
    async () => {
      await withDb((db) =>
        db.query(
          `update ai_provider_configs set enabled = true where environment = 'staging' and provider = 'custom'`,
        ),
      );
      const failed = await run(['rollout', 'verify', '--env', 'single_db', '--summary']);
      expect(failed.code).toBe(2);
      expect(failed.stdout).toMatch(/single_db_counts\s+FAIL/);
      expect(failed.stdout).toContain(
        'FAIL: 2 of 7 checks failed for single_db: single_db_counts, defaults_per_environment',
      );
      expect(failed.stderr).toMatch(
        /^genloop: verification of single_db failed: single_db_counts \(prod_default_count = 1, non_prod_enabled_count = 1\)/,
      );
      expect(failed.stderr.trimEnd().split('\n')).toHaveLength(1);

      expect((await run(['rollout', 'apply', '--env', 'single_db'])).code).toBe(0);
      expect((await run(['rollout', 'verify', '--env', 'single_db', '--summary'])).code).toBe(0);
    },
    SLOW,
  );

  it(
    'verify exits 2 when the default row is deleted (staging target)',
    async () => {
      expect((await run(['rollout', 'apply', '--env', 'staging'])).code).toBe(0);
      await withDb((db) =>
        db.query(
          `delete from ai_provider_configs where environment = 'staging' and provider = 'openai'`,
        ),
      );
      const result = await run(['rollout', 'verify', '--env', 'staging', '--json']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^genloop: verification of staging failed: default_count /);
      const report = JSON.parse(result.stdout);
      expect(report.passed).toBe(false);
      expect(
        report.checks
          .filter((check: { passed: boolean }) => !check.passed)
          .map((c: { name: string }) => c.name),
      ).toEqual(['default_count', 'defaults_per_environment']);
      expect((await run(['rollout', 'apply', '--env', 'single_db'])).code).toBe(0);
    },
    SLOW,
  );

  it(
    'verify --preflight runs only the preflight queries',
    async () => {
      const result = await run(['rollout', 'verify', '--env', 'prod', '--preflight', '--no-log']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('[PASS] 1/2 preflight_tables (runbook: preflight)');
      expect(result.stdout).toContain('[PASS] 2/2 preflight_columns (runbook: preflight)');
      expect(result.stdout).toMatch(/\nPASS: 2 of 2 preflight checks passed for prod\n$/);
    },
    SLOW,
  );

  it(
    'rollback --env single_db prints before/after, saves the rows; restore puts them back',
    async () => {
      const before = await withDb((db) => providerRows(db));
      const rollback = await run([
        'rollout',
        'rollback',
        '--env',
        'single_db',
        '--operator',
        'oncall',
      ]);
      expect(rollback.stderr).toBe('');
      expect(rollback.code).toBe(0);
      expect(rollback.stdout).toMatch(
        /^P0 rollback of single_db \(environment staging, prod\) committed/,
      );
      expect(rollback.stdout).toContain('\nbefore:\nprovider');
      expect(rollback.stdout).toContain('\nafter:\nprovider');
      expect(rollback.stdout).toMatch(/undo with: genloop rollout restore --env single_db\n/);
      const after = await withDb((db) => routingState(db, ['staging', 'prod']));
      expect(after.filter((row) => row.enabled)).toEqual([
        { provider: 'openai', environment: 'prod', enabled: true, is_default: true, weight: 100 },
        {
          provider: 'openai',
          environment: 'staging',
          enabled: true,
          is_default: true,
          weight: 100,
        },
      ]);
      expect(
        after.filter((row) => !row.enabled).every((row) => row.weight === 0 && !row.is_default),
      ).toBe(true);

      const restore = await run(['rollout', 'restore', '--env', 'single_db']);
      expect(restore.code).toBe(0);
      expect(restore.stdout).toMatch(/^restored single_db to the state saved by rollout log #\d+/);
      expect(await withDb((db) => providerRows(db))).toEqual(before);

      const again = await run(['rollout', 'restore', '--env', 'single_db']);
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(
        'genloop: no rollback of single_db is waiting to be restored; genloop rollout log --env single_db lists what happened.\n',
      );
    },
    SLOW,
  );

  it(
    'note records the post-rollout log items and log lists them',
    async () => {
      const note = await run([
        'rollout',
        'note',
        '--env',
        'staging',
        '--stage-start',
        '2026-02-15T09:00:00Z',
        '--stage-end',
        '2026-02-16T09:00:00Z',
        '--rollback-test-result',
        'passed',
        '--notes',
        'staging soak 24h, rollback drill ok',
      ]);
      expect(note.code).toBe(0);
      expect(note.stdout).toMatch(/^recorded rollout log #\d+\n$/);

      const closing = await run([
        'rollout',
        'note',
        '--env',
        'prod',
        '--stage-end',
        '2026-02-17T12:00:00Z',
        '--notes',
        'prod rollout closed',
      ]);
      expect(closing.code).toBe(0);
      const [closed] = JSON.parse(
        (await run(['rollout', 'log', '--env', 'prod', '--json'])).stdout,
      );
      expect(closed).toMatchObject({
        action: 'note',
        startedAt: '2026-02-17T12:00:00.000Z',
        finishedAt: '2026-02-17T12:00:00.000Z',
      });

      const staging = await run(['rollout', 'log', '--env', 'staging']);
      expect(staging.code).toBe(0);
      const lines = staging.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^id\s+environment\s+action\s+status\s+operator\s+started_at/);
      expect(lines[2]).toMatch(
        /\bstaging\s+note\s+info\s+ci-operator\s+2026-02-15T09:00:00\.000Z\s+2026-02-16T09:00:00\.000Z\s+passed\s+staging soak 24h, rollback drill ok$/,
      );

      const json = await run(['rollout', 'log', '--env', 'single_db', '--limit', '3', '--json']);
      const entries = JSON.parse(json.stdout) as {
        action: string;
        operator: string;
        status: string;
      }[];
      expect(entries.map((entry) => entry.action)).toEqual(['restore', 'rollback', 'apply']);
      expect(entries[1]).toMatchObject({ operator: 'oncall', status: 'ok' });

      const actions = await run([
        'rollout',
        'log',
        '--action',
        'verify',
        '--limit',
        '100',
        '--json',
      ]);
      const verifies = JSON.parse(actions.stdout) as { status: string }[];
      expect(verifies.map((entry) => entry.status)).toEqual(['failed', 'ok', 'failed', 'ok']);
    },
    SLOW,
  );

  it(
    'refuses a bad or missing --env and bad note flags with one line, exit 1',
    async () => {
      for (const argv of [
        ['rollout', 'verify', '--env', 'qa'],
        ['rollout', 'apply'],
        ['rollout', 'rollback', '--env', 'production'],
        ['rollout', 'log', '--env', 'nope'],
        ['rollout', 'log', '--limit', '0'],
        ['rollout', 'log', '--action', 'deploy'],
        ['rollout', 'note', '--env', 'staging', '--rollback-test-result', 'maybe'],
        ['rollout', 'note', '--env', 'staging', '--stage-start', 'yesterday'],
        ['rollout', 'note', '--env', 'staging'],
        [
          'rollout',
          'note',
          '--env',
          'staging',
          '--stage-start',
          '2026-02-16T00:00:00Z',
          '--stage-end',
          '2026-02-15T00:00:00Z',
        ],
      ]) {
        const result = await run(argv);
        expect(result.code, argv.join(' ')).toBe(1);
        expect(result.stderr, argv.join(' ')).toMatch(/^genloop: [^\n]+\n$/);
      }
      const bad = await run(['rollout', 'verify', '--env', 'qa']);
      expect(bad.stderr).toBe(
        'genloop: --env "qa" is not a rollout target; use one of staging, prod, single_db.\n',
      );
    },
    SLOW,
  );
});
