import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { createPgliteDb } from '../../src/db/pglite-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { goodRecords, runCli, temporaryDir, writeJsonl } from './cli-helpers.ts';

describeEachDriver('genloop eval run --ingest and eval ingest (CLI)', (use, driver) => {
  let dataDir = '';
  const target = () => (driver === 'pg' ? ['--database-url', use().url!] : ['--data-dir', dataDir]);
  /** Queries the database the CLI wrote to. */
  async function maxRunId(): Promise<number> {
    const [row] = await query<{ max: number }>(
      'select coalesce(max(id), 0)::int as max from ai_eval_runs',
    );
    return row?.max ?? 0;
  }

  async function query<R extends object>(text: string, params: unknown[] = []): Promise<R[]> {
    if (driver === 'pg') return (await use().db.query<R>(text, params)).rows;
    const db: Db = await createPgliteDb({ dataDir: join(dataDir, 'pgdata') });
    try {
      return (await db.query<R>(text, params)).rows;
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    if (driver === 'pglite') {
      dataDir = temporaryDir('genloop-eval-data-');
      const migrated = await runCli(['--data-dir', dataDir, 'db', 'migrate']);
      expect(migrated.code).toBe(0);
    }
  });

  it('ingests the run and puts its id in the report', async () => {
    const dir = temporaryDir();
    const input = writeJsonl(join(dir, 'records.jsonl'), goodRecords(31));
    writeFileSync(join(dir, 'gates.json'), '{"schema_valid_rate_min": 1}');
    const report = join(dir, 'report.json');
    const result = await runCli([
      ...target(),
      'eval',
      'run',
      '--input',
      input,
      '--gates',
      join(dir, 'gates.json'),
      '--report',
      report,
      '--ingest',
      '--run-type',
      'ci',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const runId = JSON.parse(readFileSync(report, 'utf8')).run_id;
    expect(runId).toEqual(expect.any(Number));
    expect(result.stdout).toContain(`(run ${runId})`);
    const rows = await query<{ status: string; sample_count: number; samples: number }>(
      `select status, sample_count, (select count(*)::int from ai_eval_samples where run_id = $1) as samples from ai_eval_runs where id = $1`,
      [runId],
    );
    expect(rows).toEqual([{ status: 'passed', sample_count: 31, samples: 31 }]);
  });

  it('on bad input exits 1 and leaves only an aborted run with zero samples', async () => {
    const dir = temporaryDir();
    const input = join(dir, 'records.jsonl');
    writeFileSync(
      input,
      `${goodRecords(50)
        .map((record) => JSON.stringify(record))
        .join('\n')}\n{"id": "cut`,
    );
    writeFileSync(join(dir, 'gates.json'), '{"fallback_rate_max": 0.5}');
    const max = await maxRunId();
    const result = await runCli([
      ...target(),
      'eval',
      'run',
      '--input',
      input,
      '--gates',
      join(dir, 'gates.json'),
      '--report',
      join(dir, 'report.json'),
      '--ingest',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/records\.jsonl line 51: not valid JSON .*truncated/);
    const runs = await query<{ status: string; sample_count: number; samples: number }>(
      `select status, sample_count, (select count(*)::int from ai_eval_samples s where s.run_id = r.id) as samples
         from ai_eval_runs r where id > $1`,
      [max],
    );
    expect(runs).toEqual([{ status: 'aborted', sample_count: 0, samples: 0 }]);
    // Its gates were never evaluated: none is listed as failed.
    expect(
      await query('select gate from ai_eval_failed_gates_v1 where run_id > $1', [max]),
    ).toEqual([]);
  });

  it('eval ingest re-evaluates the input against a report and ingests it; a mismatch ingests nothing', async () => {
    const dir = temporaryDir();
    const input = writeJsonl(join(dir, 'records.jsonl'), goodRecords(40));
    writeFileSync(join(dir, 'gates.json'), '{"fallback_rate_max": 0.5}');
    const report = join(dir, 'report.json');
    expect(
      (
        await runCli([
          'eval',
          'run',
          '--input',
          input,
          '--gates',
          join(dir, 'gates.json'),
          '--report',
          report,
          '--run-type',
          'canary',
        ])
      ).code,
    ).toBe(0);

    const ingested = await runCli([
      ...target(),
      'eval',
      'ingest',
      '--report',
      report,
      '--input',
      input,
    ]);
    expect(ingested.stderr).toBe('');
    expect(ingested.code).toBe(0);
    const runId = Number(/ai_eval_runs\.id = (\d+)/.exec(ingested.stdout)![1]);
    expect(
      await query(
        'select run_type, status, sample_count, thresholds from ai_eval_runs where id = $1',
        [runId],
      ),
    ).toEqual([
      {
        run_type: 'canary',
        status: 'passed',
        sample_count: 40,
        thresholds: { fallback_rate_max: 0.5 },
      },
    ]);

    const other = writeJsonl(join(dir, 'other.jsonl'), goodRecords(40, { fallback_used: true }));
    const max = await maxRunId();
    const mismatch = await runCli([
      ...target(),
      'eval',
      'ingest',
      '--report',
      report,
      '--input',
      other,
    ]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(
      /does not give the metrics in .*report\.json \(fallback_rate: 0 in the report, 1 now.*nothing was ingested/,
    );
    expect(await query('select id from ai_eval_runs where id > $1', [max])).toEqual([]);
  });

  it('eval export and eval nightly run against the database', async () => {
    const dir = temporaryDir();
    const exported = await runCli([
      ...target(),
      'eval',
      'export',
      '--days',
      '1',
      '--limit',
      '10',
      '--output',
      join(dir, 'out.jsonl'),
    ]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^exported 0 record\(s\) to .*out\.jsonl\n$/);
    writeFileSync(join(dir, 'gates.json'), '{"schema_valid_rate_min": 0.9}');
    const nightly = await runCli([
      ...target(),
      'eval',
      'nightly',
      '--gates',
      join(dir, 'gates.json'),
      '--out-dir',
      join(dir, 'artifacts'),
    ]);
    expect(nightly.code).toBe(0);
    expect(nightly.stdout).toContain(
      'note: no sitecraft generations in the last 1 day(s); nothing to evaluate',
    );
  });
});
