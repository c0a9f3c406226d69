import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { p95Sql, rateSql } from '../../src/eval/metric-sql.ts';
import { MetricsAccumulator } from '../../src/eval/metrics.ts';
import type { EvalSample } from '../../src/eval/sample.ts';
import { measureWindow } from '../../src/rollout/canary/sql.ts';
import { insertTrainingExamples, type TrainingExampleRow } from '../../src/sql/insert-telemetry.ts';
import { describeEachDriver } from '../helpers/db.ts';

/** A deterministic mix of outcomes: some true, some false, some not observed. */
function outcomes(count: number) {
  return Array.from({ length: count }, (_, index) => ({
    fallback_used: index % 7 === 0,
    latency_ms: 200 + ((index * 7919) % 4_001),
    schema_valid: index % 5 === 0 ? null : index % 9 !== 0,
    safety_compliant: index % 3 === 0 ? null : index % 11 !== 0,
  }));
}

describeEachDriver('eval metrics in SQL', (use) => {
  it('the view, the shared SQL expressions, the TypeScript accumulator and a canary window agree', async () => {
    const { db } = use();
    const rows = outcomes(57);

    const runId = await db.transaction(async (tx) => {
      const { rows: inserted } = await tx.query<{ id: number }>(
        `insert into ai_eval_runs (run_type, schema_variant, status, finished_at)
         values ('manual', 'sitecraft', 'passed', now()) returning id`,
      );
      const id = inserted[0]!.id;
      await tx.query(
        `insert into ai_eval_samples (run_id, record_id, fallback_used, latency_ms, schema_valid, safety_compliant)
         select $1, x.record_id, x.fallback_used, x.latency_ms, x.schema_valid, x.safety_compliant
           from jsonb_to_recordset($2::jsonb)
             as x(record_id text, fallback_used boolean, latency_ms integer, schema_valid boolean,
                  safety_compliant boolean)`,
        [id, JSON.stringify(rows.map((row, index) => ({ record_id: `r${index}`, ...row })))],
      );
      return id;
    });

    const { rows: view } = await db.query<Record<string, number>>(
      `select fallback_rate, p95_latency_ms, schema_valid_rate, safety_html_tailwind_compliance
         from ai_eval_run_summary_v1 where run_id = $1`,
      [runId],
    );
    const { rows: shared } = await db.query<Record<string, number>>(
      `select ${rateSql('fallback_used')} as fallback_rate,
              ${p95Sql('latency_ms')} as p95_latency_ms,
              ${rateSql('schema_valid')} as schema_valid_rate,
              ${rateSql('safety_compliant')} as safety_html_tailwind_compliance
         from ai_eval_samples where run_id = $1`,
      [runId],
    );
    expect(shared[0]).toEqual(view[0]);

    const accumulator = new MetricsAccumulator();
    for (const [index, row] of rows.entries()) {
      accumulator.add({
        record_id: `r${index}`,
        record_created_at: new Date().toISOString(),
        patch_apply_success: null,
        edit_after_generate: null,
        publish_conversion: null,
        requested_provider: null,
        selected_provider: null,
        route_strategy: null,
        notes: {},
        ...row,
      } satisfies EvalSample);
    }
    const { metrics } = accumulator.result();
    expect({
      fallback_rate: metrics.fallback_rate,
      p95_latency_ms: metrics.p95_latency_ms,
      schema_valid_rate: metrics.schema_valid_rate,
      safety_html_tailwind_compliance: metrics.safety_html_tailwind_compliance,
    }).toEqual(view[0]);

    // The same outcomes as live telemetry: first tries to custom in prod, measured by a canary.
    const from = new Date(Date.now() - 60_000);
    await insertTrainingExamples(
      db,
      rows.map((row) => trainingRow(row)),
    );
    const measured = await measureWindow(db, {
      environment: 'prod',
      candidate: 'custom',
      providers: ['openai'],
      from,
    });
    expect(measured.candidate).toEqual({
      samples: rows.length,
      fallbackRate: view[0]!.fallback_rate,
      p95LatencyMs: view[0]!.p95_latency_ms,
      schemaValidRate: view[0]!.schema_valid_rate,
      schemaValidSamples: rows.filter((row) => row.schema_valid !== null).length,
      safetyRate: view[0]!.safety_html_tailwind_compliance,
      safetySamples: rows.filter((row) => row.safety_compliant !== null).length,
    });
    expect(measured.baseline.samples).toBe(0);
  });
});

function trainingRow(outcome: ReturnType<typeof outcomes>[number]): TrainingExampleRow {
  return {
    id: randomUUID(),
    user_id: null,
    source: 'generation',
    recipe: 'site',
    generation_id: null,
    status: 'succeeded',
    prompt: 'a bakery',
    input: null,
    output: null,
    model: 'm',
    request_id: randomUUID(),
    requested_provider: null,
    selected_provider: outcome.fallback_used ? 'openai' : 'custom',
    route_strategy: 'weighted',
    fallback_provider: outcome.fallback_used ? 'openai' : null,
    fallback_used: outcome.fallback_used,
    latency_ms: outcome.latency_ms,
    prompt_template_version: 'site-v1',
    planned_provider: 'custom',
    environment: 'prod',
    error: null,
    tokens_input: null,
    tokens_output: null,
    cost_usd: null,
    schema_valid: outcome.schema_valid,
    patch_apply_success: null,
    safety_compliant: outcome.safety_compliant,
    created_at: new Date(Date.now() - 1_000).toISOString(),
  };
}
