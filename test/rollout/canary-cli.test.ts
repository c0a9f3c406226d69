import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliAgainst } from '../helpers/cli.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { providerRows } from './provider-rows.ts';

const SLOW = 120_000;

describeEachDriver('genloop canary (CLI)', (use, driver) => {
  let dataDir = '';
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'genloop-canary-cli-'));
    // The embedded database of --data-dir starts empty; Postgres is a migrated clone already.
    if (driver === 'pglite') expect((await run(['db', 'migrate'])).code).toBe(0);
  }, SLOW);
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const { run, withDb } = cliAgainst({
    driver,
    database: use,
    dataDir: () => dataDir,
    env: { USER: 'ci-operator' },
  });

  /** Everything a canary command could change. */
  const snapshot = () =>
    withDb(async (db) => ({
      providers: await providerRows(db, { withUpdatedAt: true }),
      runs: (await db.query('select * from ai_canary_runs order by id')).rows,
      log: (await db.query('select id from ai_rollout_log order by id')).rows,
    }));

  it(
    'refuses bad input with one line and exit 1, changing nothing',
    async () => {
      await withDb((db) =>
        db.query(
          `update ai_provider_configs set enabled = false where environment = 'prod' and provider = 'openrouter'`,
        ),
      );
      const before = await snapshot();
      const refusals: [string[], RegExp][] = [
        [['canary', 'start', '--provider', 'custom'], /^genloop: --env is required/],
        [['canary', 'start', '--env', 'prod'], /^genloop: --provider is required/],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'nope'],
          /provider "nope" is unknown in prod; its providers are custom, openai, openrouter, replicate/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'replicate'],
          /replicate does not serve text/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'openrouter'],
          /openrouter is disabled in prod/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'openai'],
          /openai already gets every first try in prod/,
        ],
        [
          ['canary', 'start', '--env', 'nowhere', '--provider', 'custom'],
          /environment "nowhere" has no rows/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'custom', '--steps', '50,20,100'],
          /each step must be above the one before \(50 then 20\)/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'custom', '--steps', '5,25,50'],
          /must end at 100/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'custom', '--interval', '5d'],
          /--interval "5d" is not a duration/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'custom', '--max-fallback-rate', '2'],
          /--max-fallback-rate "2" is not a rate from 0 to 1/,
        ],
        [
          ['canary', 'start', '--env', 'prod', '--provider', 'custom', '--min-samples', '0'],
          /--min-samples "0" is not a whole number/,
        ],
        [
          [
            'canary',
            'start',
            '--env',
            'prod',
            '--provider',
            'custom',
            '--notify',
            'ftp://example.com',
          ],
          /--notify "ftp:\/\/example.com" is not an http or https URL/,
        ],
        [
          [
            'canary',
            'start',
            '--env',
            'prod',
            '--provider',
            'custom',
            '--faults',
            'custom=error:503',
          ],
          /--faults needs --dry-run/,
        ],
        [
          [
            'canary',
            'start',
            '--env',
            'prod',
            '--provider',
            'custom',
            '--dry-run',
            '--faults',
            'custom=explode@0.3',
          ],
          /--faults "custom=explode@0.3": unknown fault "explode"/,
        ],
        [
          [
            'canary',
            'start',
            '--env',
            'prod',
            '--provider',
            'custom',
            '--dry-run',
            '--faults',
            'custom=error:503@1.5',
          ],
          /"@1.5" is not a share of requests/,
        ],
        [['canary', 'status', '--env', 'prod'], /^genloop: no canary has run in prod/],
        [
          ['canary', 'promote', '--env', 'prod'],
          /^genloop: no canary is progressing or halted in prod/,
        ],
        [
          ['canary', 'abort', '--env', 'prod'],
          /^genloop: no canary is progressing or halted in prod/,
        ],
      ];
      for (const [argv, message] of refusals) {
        const result = await run(argv);
        expect({ argv, code: result.code }).toEqual({ argv, code: 1 });
        expect(result.stderr).toMatch(message);
        expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(result.stdout).toBe('');
      }
      expect(await snapshot()).toEqual(before);
      await withDb((db) =>
        db.query(
          `update ai_provider_configs set enabled = true where environment = 'prod' and provider = 'openrouter'`,
        ),
      );
    },
    SLOW,
  );

  it(
    'start, status (text and --json), a second start refused, rollout log, promote',
    async () => {
      const started = await run([
        'canary',
        'start',
        '--env',
        'prod',
        '--provider',
        'custom',
        '--steps',
        '20,50,100',
        '--interval',
        '4s',
        '--min-samples',
        '10',
      ]);
      expect(started.stderr).toBe('');
      expect(started.code).toBe(0);
      expect(started.stdout).toMatch(
        /^canary #\d+ started in prod: custom at 20% of first tries \(step 1 of 3: 20, 50, 100\)\nchecks every 4s, first at /,
      );
      expect(started.stdout).toMatch(
        /\nafter:\nprovider\s+enabled\s+is_default\s+weight\s+route_strategy\n/,
      );
      expect(started.stdout).toMatch(/\ncustom\s+true\s+false\s+20\s*\n/);
      expect(started.stdout).toMatch(/\nopenai\s+true\s+true\s+80\s+weighted\n/);
      expect(started.stdout).toContain(
        'note: no genloop serve leads the canary controller on this database right now',
      );

      const again = await snapshot();
      const second = await run(['canary', 'start', '--env', 'prod', '--provider', 'custom']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        /^genloop: canary #\d+ of custom is already progressing in prod/,
      );
      expect(await snapshot()).toEqual(again);

      const status = await run(['canary', 'status', '--env', 'prod']);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/^canary #\d+ of custom in prod: progressing\n/);
      expect(status.stdout).toContain(
        'weight      20% of first tries (step 1 of 3: 20 → 50 → 100)',
      );
      expect(status.stdout).toContain('no check yet');
      const json = JSON.parse((await run(['canary', 'status', '--env', 'prod', '--json'])).stdout);
      expect(json).toMatchObject({
        state: 'progressing',
        provider: 'custom',
        weight: 20,
        step: 1,
        steps: [20, 50, 100],
        interval: '4s',
        thresholds: { min_samples: 10, max_failed_checks: 2, max_fallback_rate: 0.05 },
        checks: [],
      });

      const log = await run(['rollout', 'log', '--env', 'prod', '--action', 'canary_start']);
      expect(log.code).toBe(0);
      expect(log.stdout).toMatch(
        /canary_start\s+ok\s+ci-operator .*#\d+ custom progressing at 20% \(step 1\/3\) \| canary of custom started at 20% of first tries/,
      );

      const promoted = await run(['canary', 'promote', '--env', 'prod', '--operator', 'lead']);
      expect(promoted.code).toBe(0);
      expect(promoted.stdout).toMatch(
        /^canary #\d+ of custom in prod promoted in one transaction: promoted by lead at 20% \(step 1 of 3\)\n/,
      );
      expect(promoted.stdout.split('\nafter:\n')[1]).toMatch(
        /\ncustom\s+true\s+true\s+100\s+fallback\n/,
      );
      const after = JSON.parse((await run(['canary', 'status', '--env', 'prod', '--json'])).stdout);
      expect(after).toMatchObject({ state: 'promoted', weight: 100, step: 3, next_check_at: null });
      const completed = await run(['rollout', 'log', '--env', 'prod', '--limit', '1']);
      expect(completed.stdout).toMatch(
        /canary_complete\s+ok\s+lead .*#\d+ custom promoted at 100% \(step 3\/3\)/,
      );

      // Back to the seeded state for the dry runs.
      await withDb((db) =>
        db.query(
          `update ai_provider_configs set is_default = (provider = 'openai'),
                  weight = case provider when 'openai' then 100 else 0 end, metadata = '{}'
            where environment = 'prod'`,
        ),
      );
    },
    SLOW,
  );

  it(
    'a dry run promotes a healthy candidate and changes nothing in the real database (exit 0)',
    async () => {
      const before = await snapshot();
      const result = await run([
        'canary',
        'start',
        '--env',
        'prod',
        '--provider',
        'custom',
        '--steps',
        '50,100',
        '--min-samples',
        '5',
        '--dry-run',
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^dry run of a canary of custom in prod/);
      expect(result.stdout).toContain('configs of prod: copied from');
      expect(result.stdout).toContain('interval shortened from 10m to 2s');
      expect(result.stdout).toMatch(/\n\s+\+0\.0s\s+start\s+progressing\s+50% step 1\/2/);
      expect(result.stdout).toMatch(
        /\n\s+\+[\d.]+s\s+step\s+progressing\s+100% step 2\/2 \| custom: n=\d+/,
      );
      expect(result.stdout).toMatch(/\n\s+\+[\d.]+s\s+complete promoted\s+100% step 2\/2/);
      expect(result.stdout).toContain('$ genloop canary status --env prod   (of the dry run)');
      expect(result.stdout).toMatch(/\ndry run ended promoted; nothing was changed in /);
      expect(await snapshot()).toEqual(before);
    },
    SLOW,
  );

  it(
    'a dry run with every candidate call failing rolls back (exit 2)',
    async () => {
      const before = await snapshot();
      const result = await run([
        'canary',
        'start',
        '--env',
        'prod',
        '--provider',
        'custom',
        '--steps',
        '50,100',
        '--min-samples',
        '5',
        '--dry-run',
        '--faults',
        'custom=error:503',
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('genloop: dry run ended rolled_back: see the timeline above.\n');
      expect(result.stdout).toContain('faults custom=error:503 on 100%');
      expect(
        result.stdout.match(/\n\s+\+[\d.]+s\s+check\s+progressing\s+50% step 1\/2/g),
      ).toHaveLength(2);
      expect(result.stdout).toMatch(
        /\n\s+\+[\d.]+s\s+rollback rolled_back\s+0% step 1\/2 .*rolled back: 3 failed checks/,
      );
      expect(await snapshot()).toEqual(before);
    },
    SLOW,
  );
});
