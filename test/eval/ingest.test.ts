import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Queryable } from '../../src/db/types.ts';
import type { GateThresholds } from '../../src/eval/gates.ts';
import { runEvalAndIngest } from '../../src/eval/ingest.ts';
import { METRIC_NAMES } from '../../src/eval/metrics.ts';
import { runEval } from '../../src/eval/run.ts';
import { SqlScriptSink } from '../../src/eval/sql-script.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { goodRecords, SAFE_SITE, temporaryDir, writeJsonl } from './cli-helpers.ts';

const fixedClock = () => {
  let tick = 0;
  return () => new Date(Date.UTC(2026, 1, 15, 12, 0, tick++));
};

const baseOptions = (input: string, gates: GateThresholds = {}) => ({
  input,
  gates,
  minSamples: 30,
  runType: 'ci',
  triggeredBy: 'test',
  triggerRef: 'https://ci.example/run/1',
  gitSha: 'a'.repeat(40),
});

async function runRow(db: Queryable, runId: number) {
  const { rows } = await db.query(
    `select run_type, schema_variant, triggered_by, trigger_ref, git_sha, thresholds, status,
            sample_count, report, metadata, started_at, finished_at
       from ai_eval_runs where id = $1`,
    [runId],
  );
  return rows[0];
}

async function sampleRows(db: Queryable, runId: number) {
  const { rows } = await db.query(
    `select record_id, record_created_at, schema_valid, patch_apply_success, edit_after_generate,
            publish_conversion, safety_compliant, fallback_used, latency_ms, requested_provider,
            selected_provider, route_strategy, metadata
       from ai_eval_samples where run_id = $1 order by id`,
    [runId],
  );
  return rows;
}

async function summary(db: Queryable, runId: number) {
  const { rows } = await db.query<Record<string, number | null>>(
    'select * from ai_eval_run_summary_v1 where run_id = $1',
    [runId],
  );
  return rows[0]!;
}

describeEachDriver('eval ingest', (use) => {
  it('writes one terminal run with its samples, and the summary view equals the report', async () => {
    const dir = temporaryDir();
    const input = writeJsonl(join(dir, 'records.jsonl'), [
      ...goodRecords(35),
      {
        ...goodRecords(1)[0],
        id: 'bad-html',
        output: { title: 't', sections: [{ id: 'a', type: 'hero', html: '<script>x</script>' }] },
      },
    ]);
    const report = await runEvalAndIngest(
      use().db,
      baseOptions(input, { safety_html_tailwind_compliance_min: 1 }),
    );
    expect(report.run_id).toEqual(expect.any(Number));
    expect(report.status).toBe('failed');
    const run = await runRow(use().db, report.run_id!);
    expect(run).toMatchObject({
      run_type: 'ci',
      schema_variant: 'sitecraft',
      triggered_by: 'test',
      trigger_ref: 'https://ci.example/run/1',
      git_sha: 'a'.repeat(40),
      thresholds: { safety_html_tailwind_compliance_min: 1 },
      status: 'failed',
      sample_count: 36,
      metadata: { inconclusive: false, min_samples: 30 },
    });
    expect(run!.finished_at).not.toBeNull();
    expect((run!.report as { metrics: unknown }).metrics).toEqual(report.metrics);
    const samples = await sampleRows(use().db, report.run_id!);
    expect(samples).toHaveLength(36);
    expect(samples.at(-1)).toMatchObject({
      record_id: 'bad-html',
      safety_compliant: false,
      metadata: { safety_violation: '<script> is not an allowed element' },
    });
    const view = await summary(use().db, report.run_id!);
    for (const metric of METRIC_NAMES) expect(view[metric], metric).toBe(report.metrics[metric]);
    expect(view.sample_count).toBe(36);
  });

  it('lists the same failed gates in one statement as the CLI report', async () => {
    const dir = temporaryDir();
    const input = writeJsonl(
      join(dir, 'records.jsonl'),
      goodRecords(40).map((record, index) => ({ ...record, fallback_used: index % 4 === 0 })),
    );
    const gates: GateThresholds = {
      schema_valid_rate_min: 0.99,
      patch_apply_success_min: 0.5,
      fallback_rate_max: 0.2,
      p95_latency_ms_max: 470.5,
      publish_conversion_proxy_min: 0.6,
    };
    const report = await runEvalAndIngest(use().db, baseOptions(input, gates));
    const { rows } = await use().db.query<{
      gate: string;
      metric: string;
      threshold: number;
      value: number | null;
    }>('select * from ai_eval_failed_gates_v1 where run_id = $1 order by gate', [report.run_id]);
    expect(report.failed_gates.sort()).toEqual([
      'fallback_rate_max',
      'patch_apply_success_min',
      'publish_conversion_proxy_min',
    ]);
    expect(rows.map((row) => row.gate)).toEqual(report.failed_gates.sort());
    for (const row of rows) {
      const gate = report.gates.find((candidate) => candidate.name === row.gate)!;
      expect(row.value).toBe(gate.value);
      expect(row.threshold).toBe(gate.threshold);
    }
  });

  it('the --sql-output script, executed, reproduces the run --ingest writes', async () => {
    const dir = temporaryDir();
    const records = goodRecords(1100).map((record, index) => ({
      ...record,
      id: index === 7 ? 'it\'s a \\ "nasty" id; drop table x; -- $$' : record.id,
      requested_provider: index % 3 === 0 ? 'custom' : null,
      edit_after_generate: index % 5 === 0 ? null : index % 2 === 0,
      latency_ms: index % 11 === 0 ? null : record.latency_ms,
      output:
        index % 9 === 0
          ? { title: 'x', sections: [{ id: 'a', type: 'hero', html: '<p class="btn">x</p>' }] }
          : SAFE_SITE,
    }));
    const input = writeJsonl(join(dir, 'records.jsonl'), records);
    const sqlPath = join(dir, 'ingest.sql');
    const gates: GateThresholds = { schema_valid_rate_min: 0.9, fallback_rate_max: 0 };

    const viaScript = await runEval({
      ...baseOptions(input, gates),
      sinks: [new SqlScriptSink(sqlPath)],
      now: fixedClock(),
    });
    const before = await use().db.query<{ id: number }>(
      'select coalesce(max(id), 0) as id from ai_eval_runs',
    );
    await use().db.exec(readFileSync(sqlPath, 'utf8'));
    const { rows } = await use().db.query<{ id: number }>(
      'select id from ai_eval_runs where id > $1',
      [before.rows[0]!.id],
    );
    expect(rows).toHaveLength(1);
    const scriptRunId = rows[0]!.id;

    const direct = await runEvalAndIngest(use().db, {
      ...baseOptions(input, gates),
      now: fixedClock(),
    });
    expect(direct.metrics).toEqual(viaScript.metrics);
    expect(await runRow(use().db, scriptRunId)).toEqual(await runRow(use().db, direct.run_id!));
    expect(await sampleRows(use().db, scriptRunId)).toEqual(
      await sampleRows(use().db, direct.run_id!),
    );
    expect((await sampleRows(use().db, scriptRunId))[7]!.record_id).toBe(records[7]!.id);
  });

  it('leaves no partial run on bad input mid-file: rolled back, recorded as aborted with zero samples', async () => {
    const dir = temporaryDir();
    const input = join(dir, 'records.jsonl');
    const good = goodRecords(4500).map((record) => JSON.stringify(record));
    writeFileSync(
      input,
      `${good.join('\n')}\n${JSON.stringify({ ...goodRecords(1)[0], latency_ms: -1 })}\n`,
    );
    const before = await use().db.query<{ id: number }>(
      'select coalesce(max(id), 0) as id from ai_eval_runs',
    );
    await expect(runEvalAndIngest(use().db, baseOptions(input))).rejects.toThrow(
      /line 4501: latency_ms: must be >= 0/,
    );
    const { rows } = await use().db.query<{
      status: string;
      sample_count: number;
      samples: number;
      report: { line: number; field: string };
    }>(
      `select r.status, r.sample_count, r.report, (select count(*)::int from ai_eval_samples s where s.run_id = r.id) as samples
         from ai_eval_runs r where r.id > $1`,
      [before.rows[0]!.id],
    );
    expect(rows).toEqual([
      expect.objectContaining({
        status: 'aborted',
        sample_count: 0,
        samples: 0,
        report: expect.objectContaining({ line: 4501, field: 'latency_ms' }),
      }),
    ]);
  });

  it('the summary view equals the report within ±0.001 for random records (property)', async () => {
    const dir = temporaryDir();
    const outcome = fc.constantFrom(true, false, null, undefined);
    const record = fc.record({
      schema_valid: outcome,
      patch_apply_success: outcome,
      edit_after_generate: outcome,
      publish_conversion: outcome,
      safety_compliant: outcome,
      fallback_used: outcome,
      latency_ms: fc.oneof(
        fc.constant(null),
        fc.constant(undefined),
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 0, max: 60_000, noNaN: true }),
      ),
      output: fc.constantFrom(undefined, SAFE_SITE, { title: 'x' }, '<script>x</script>'),
    });
    let iteration = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 80 }), async (fields) => {
        const records = fields.map((field, index) => {
          const item: Record<string, unknown> = {
            id: `p${index}`,
            created_at: '2026-02-15T10:00:00Z',
            schema_variant: 'sitecraft',
          };
          for (const [key, value] of Object.entries(field))
            if (value !== undefined) item[key] = value;
          return item;
        });
        const input = writeJsonl(join(dir, `property-${iteration++}.jsonl`), records);
        const report = await runEvalAndIngest(use().db, { ...baseOptions(input), minSamples: 1 });
        const view = await summary(use().db, report.run_id!);
        expect(view.sample_count).toBe(report.sample_count);
        for (const metric of METRIC_NAMES) {
          const expected = report.metrics[metric];
          if (expected === null) expect(view[metric], metric).toBeNull();
          else
            expect(Math.abs((view[metric] as number) - expected), metric).toBeLessThanOrEqual(
              0.001,
            );
        }
      }),
      { numRuns: 25 },
    );
  });
});
