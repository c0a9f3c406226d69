import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeExport, exportEvalRecords } from '../../src/eval/export.ts';
import { runNightly } from '../../src/eval/nightly.ts';
import { runEval } from '../../src/eval/run.ts';
import { insertTrainingExamples, type TrainingExampleRow } from '../../src/sql/insert-telemetry.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { SAFE_SITE, temporaryDir } from './cli-helpers.ts';

function trainingRow(overrides: Partial<TrainingExampleRow> = {}): TrainingExampleRow {
  return {
    id: randomUUID(),
    user_id: randomUUID(),
    source: 'generation',
    recipe: 'site',
    generation_id: randomUUID(),
    status: 'succeeded',
    prompt: 'a bakery',
    input: { prompt: 'a bakery' },
    output: SAFE_SITE,
    model: 'gpt-4o-mini',
    request_id: randomUUID(),
    requested_provider: null,
    selected_provider: 'openai',
    route_strategy: 'weighted',
    fallback_provider: null,
    fallback_used: false,
    latency_ms: 800,
    prompt_template_version: 'site-v1',
    error: null,
    tokens_input: 10,
    tokens_output: 20,
    cost_usd: 0.001,
    schema_valid: true,
    patch_apply_success: null,
    safety_compliant: null,
    created_at: new Date().toISOString(),
    ...overrides,
  };
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
const readRecords = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describeEachDriver('eval export and nightly', (use) => {
  it('exports recent generations of the variant, newest first, up to the limit, as eval records', async () => {
    const sameInstant = minutesAgo(30);
    const rows = [
      trainingRow({
        created_at: minutesAgo(10),
        latency_ms: 111,
        fallback_used: true,
        fallback_provider: 'custom',
        selected_provider: 'custom',
        requested_provider: 'openai',
        route_strategy: 'fallback',
      }),
      trainingRow({ created_at: sameInstant }),
      trainingRow({ created_at: sameInstant }),
      trainingRow({ created_at: sameInstant, source: 'generation_cached' }),
      trainingRow({
        created_at: minutesAgo(40),
        status: 'failed',
        output: null,
        schema_valid: false,
        selected_provider: null,
      }),
      trainingRow({
        created_at: minutesAgo(50),
        recipe: 'flashcards',
        output: { cards: [{ front: 'Q', back: 'A' }] },
      }),
      trainingRow({ created_at: minutesAgo(60), recipe: 'gateway', output: { content: 'hi' } }),
      trainingRow({ created_at: minutesAgo(3 * 24 * 60) }),
    ];
    await insertTrainingExamples(use().db, rows);
    await use().db.query(
      `update ai_training_examples set publish_conversion = true, edit_after_generate = false where id = $1`,
      [rows[0]!.id],
    );
    const output = join(temporaryDir(), 'nested', 'records.jsonl');
    const result = await exportEvalRecords(use().db, {
      days: 1,
      limit: 100,
      output,
      schemaVariant: 'sitecraft',
      pageSize: 2,
    });
    expect(result).toEqual({ count: 5, byVariant: { sitecraft: 5 } });
    const records = readRecords(output);
    expect(records.map((record) => record.id)).toEqual([
      rows[0]!.id,
      ...[rows[1]!.id, rows[2]!.id, rows[3]!.id].sort().reverse(),
      rows[4]!.id,
    ]);
    expect(records[0]).toMatchObject({
      schema_variant: 'sitecraft',
      created_at: new Date(rows[0]!.created_at).toISOString(),
      output: SAFE_SITE,
      schema_valid: true,
      publish_conversion: true,
      edit_after_generate: false,
      patch_apply_success: null,
      safety_compliant: null,
      fallback_used: true,
      latency_ms: 111,
      requested_provider: 'openai',
      selected_provider: 'custom',
      route_strategy: 'fallback',
      generation_id: rows[0]!.generation_id,
      request_id: rows[0]!.request_id,
    });
    expect(records[4]).not.toHaveProperty('output');

    const limited = join(temporaryDir(), 'limited.jsonl');
    expect(
      await exportEvalRecords(use().db, {
        days: 1,
        limit: 2,
        output: limited,
        schemaVariant: 'sitecraft',
      }),
    ).toEqual({ count: 2, byVariant: { sitecraft: 2 } });

    const all = join(temporaryDir(), 'all.jsonl');
    const allResult = await exportEvalRecords(use().db, { days: 1, limit: 100, output: all });
    expect(allResult.byVariant).toMatchObject({ sitecraft: 5, flashcards: 1, generic: 1 });
    expect(describeExport(allResult, all)).toBe(
      `exported ${allResult.count} record(s) to ${all} (sitecraft 5, flashcards 1, generic 1)\n` +
        'the file mixes 3 schema variants and eval run takes one: export again with --schema-variant sitecraft|flashcards|generic\n',
    );
    expect(describeExport(result, output)).toBe(
      `exported 5 record(s) to ${output} (sitecraft 5)\n`,
    );

    // The export is valid eval input.
    const report = await runEval({
      input: output,
      gates: {},
      minSamples: 1,
      runType: 'ci',
      triggeredBy: null,
      gitSha: null,
    });
    expect(report.sample_count).toBe(5);
    expect(report.metrics.schema_valid_rate).toBe(0.8);
    expect(report.metrics.safety_html_tailwind_compliance).toBe(1);
  });

  it('nightly: exports, evaluates and ingests; under 30 samples gating is skipped with exit 0', async () => {
    const outDir = temporaryDir();
    const result = await runNightly(use().db, {
      days: 1,
      limit: 5000,
      gates: { fallback_rate_max: 0 },
      outDir,
      schemaVariant: 'sitecraft',
      minSamples: 30,
      runType: 'nightly',
      triggeredBy: 'test',
      triggerRef: null,
      gitSha: null,
    });
    expect(result.report).toMatchObject({
      status: 'inconclusive',
      passed: false,
      sample_count: result.exported.count,
    });
    expect(result.exitCode).toBe(0);
    expect(result.note).toMatch(/hard gating skipped \(exit 0\)/);
    const { rows } = await use().db.query(
      'select status, run_type, sample_count from ai_eval_runs where id = $1',
      [result.report!.run_id],
    );
    expect(rows[0]).toEqual({
      status: 'failed',
      run_type: 'nightly',
      sample_count: result.exported.count,
    });
    expect(JSON.parse(readFileSync(result.artifacts.report, 'utf8')).run_id).toBe(
      result.report!.run_id,
    );
  });

  it('nightly: with enough samples a failed gate exits 2', async () => {
    await insertTrainingExamples(
      use().db,
      Array.from({ length: 40 }, () =>
        trainingRow({
          recipe: 'interior',
          output: { variants: [{ url: 'https://cdn.example/a.webp' }] },
          latency_ms: 9000,
        }),
      ),
    );
    const result = await runNightly(use().db, {
      days: 1,
      limit: 5000,
      gates: { p95_latency_ms_max: 5000, schema_valid_rate_min: 0.9 },
      outDir: temporaryDir(),
      schemaVariant: 'interior',
      minSamples: 30,
      runType: 'nightly',
      triggeredBy: 'test',
      triggerRef: null,
      gitSha: null,
    });
    expect(result.report).toMatchObject({
      status: 'failed',
      failed_gates: ['p95_latency_ms_max'],
      sample_count: 40,
    });
    expect(result.exitCode).toBe(2);
  });

  it('nightly: an empty window is nothing to do (exit 0 with a note)', async () => {
    // The only generic (gateway) row was created an hour ago, outside a 1.5-minute window.
    const result = await runNightly(use().db, {
      days: 0.001,
      limit: 5000,
      gates: {},
      outDir: temporaryDir(),
      schemaVariant: 'generic',
      minSamples: 30,
      runType: 'nightly',
      triggeredBy: null,
      triggerRef: null,
      gitSha: null,
    });
    expect(result).toMatchObject({ report: undefined, exitCode: 0, exported: { count: 0 } });
    expect(result.note).toMatch(/no generic generations in the last 0.001 day/);
  });
});
