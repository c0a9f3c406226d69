import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goodRecords, runCli, temporaryDir, writeJsonl } from './cli-helpers.ts';

const GATES = {
  schema_valid_rate_min: 0.95,
  safety_html_tailwind_compliance_min: 1,
  fallback_rate_max: 0.1,
  p95_latency_ms_max: 1000,
};

function setup(records: readonly unknown[] | string, gates: unknown = GATES) {
  const dir = temporaryDir();
  const input = join(dir, 'records.jsonl');
  if (typeof records === 'string') writeFileSync(input, records);
  else writeJsonl(input, records);
  const gatesPath = join(dir, 'gates.json');
  writeFileSync(gatesPath, typeof gates === 'string' ? gates : JSON.stringify(gates));
  const report = join(dir, 'out', 'report.json');
  return {
    dir,
    input,
    gatesPath,
    report,
    args: ['eval', 'run', '--input', input, '--gates', gatesPath, '--report', report],
  };
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('genloop eval run exit codes', () => {
  it('exits 0 when every gate passes, writing the report, JUnit XML and markdown', async () => {
    const { args, report, dir } = setup(goodRecords(40));
    const result = await runCli(args);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('eval sitecraft: 40 samples, passed');
    const written = readJson(report);
    expect(written).toMatchObject({
      status: 'passed',
      passed: true,
      exit_code: 0,
      sample_count: 40,
      failed_gates: [],
    });
    expect(written.metrics).toEqual({
      schema_valid_rate: 1,
      patch_apply_success: null,
      edit_after_generate_rate: null,
      publish_conversion_proxy: 0.5,
      safety_html_tailwind_compliance: 1,
      fallback_rate: 0,
      // 40 latencies 100..490: position 0.95 * 39 = 37.05 → 470 + 0.05 * 10
      p95_latency_ms: 470.5,
    });
    expect(written.gates).toHaveLength(4);
    const junit = readFileSync(join(dir, 'out', 'report.junit.xml'), 'utf8');
    expect(junit).toContain('<testsuites name="genloop eval" tests="5" failures="0" skipped="0">');
    expect(readFileSync(join(dir, 'out', 'report.md'), 'utf8')).toContain(
      '## ✅ genloop eval: passed (sitecraft, 40 samples)',
    );
  });

  it('exits 2 when a quality gate fails, naming it', async () => {
    const records = goodRecords(40).map((record, index) =>
      index < 4
        ? {
            ...record,
            output: {
              title: 'x',
              sections: [{ id: 'a', type: 'hero', html: '<a href="javascript:alert(1)">x</a>' }],
            },
          }
        : record,
    );
    const { args, report, dir } = setup(records);
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'genloop: 1 gate(s) failed: safety_html_tailwind_compliance_min (safety_html_tailwind_compliance 0.9 < 1)\n',
    );
    const written = readJson(report);
    expect(written).toMatchObject({
      status: 'failed',
      passed: false,
      exit_code: 2,
      failed_gates: ['safety_html_tailwind_compliance_min'],
    });
    expect(readFileSync(join(dir, 'out', 'report.junit.xml'), 'utf8')).toContain('failures="1"');
  });

  it('exits 2 when an operational gate fails (fallback rate, p95 latency)', async () => {
    const records = goodRecords(40, { fallback_used: true, latency_ms: 5000 });
    const { args, report } = setup(records);
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(readJson(report).failed_gates).toEqual(['fallback_rate_max', 'p95_latency_ms_max']);
  });

  it('exits 3 below --min-samples, still writing every artifact, even when a gate fails', async () => {
    const { args, report, dir } = setup(goodRecords(12, { fallback_used: true }));
    const result = await runCli(args);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /^genloop: inconclusive: only 12 sample\(s\), fewer than --min-samples 30/,
    );
    const written = readJson(report);
    expect(written).toMatchObject({
      status: 'inconclusive',
      passed: false,
      exit_code: 3,
      sample_count: 12,
    });
    expect(readFileSync(join(dir, 'out', 'report.junit.xml'), 'utf8')).toContain('skipped="2"');
    expect(existsSync(join(dir, 'out', 'report.md'))).toBe(true);
  });

  it('honours --min-samples', async () => {
    const { args } = setup(goodRecords(12));
    expect((await runCli([...args, '--min-samples', '10'])).code).toBe(0);
  });

  it('writes every report key, with reasons for null metrics', async () => {
    const records = goodRecords(30).map(
      ({ output: _output, latency_ms: _latency, ...rest }) => rest,
    );
    const { args, report } = setup(records, {});
    expect((await runCli(args)).code).toBe(0);
    const written = readJson(report);
    expect(Object.keys(written).sort()).toEqual(
      [
        'counts',
        'exit_code',
        'failed_gates',
        'finished_at',
        'gates',
        'git_sha',
        'input',
        'latency_ms',
        'metric_reasons',
        'metrics',
        'min_samples',
        'note',
        'passed',
        'report_version',
        'run_id',
        'run_type',
        'sample_count',
        'schema_variant',
        'started_at',
        'status',
        'thresholds',
        'trigger_ref',
        'triggered_by',
      ].sort(),
    );
    expect(written.metrics.schema_valid_rate).toBeNull();
    expect(written.metric_reasons.schema_valid_rate).toMatch(/no record observed schema_valid/);
    expect(written.metrics.p95_latency_ms).toBeNull();
    expect(written.metric_reasons.p95_latency_ms).toMatch(/no record has latency_ms/);
  });

  it('fails a gate whose metric cannot be computed', async () => {
    const { args, report } = setup(goodRecords(30), { patch_apply_success_min: 0.5 });
    expect((await runCli(args)).code).toBe(2);
    expect(readJson(report).gates[0]).toMatchObject({
      name: 'patch_apply_success_min',
      value: null,
      passed: false,
    });
  });
});

describe('genloop eval run on bad input exits 1 naming the line and field', () => {
  const good = goodRecords(3).map((record) => JSON.stringify(record));

  it.each([
    ['an empty file', '', /records\.jsonl: has no records/],
    ['a file of blank lines', '\n\n  \n', /records\.jsonl: has no records/],
    [
      'a truncated last line',
      `${good.join('\n')}\n${good[0]!.slice(0, 40)}`,
      /records\.jsonl line 4: not valid JSON .*the file looks truncated/,
    ],
    [
      'a line that is not JSON',
      `${good[0]}\nnot json at all\n${good[1]}\n`,
      /records\.jsonl line 2: not valid JSON/,
    ],
    [
      'a JSON line that is not an object',
      `${good[0]}\n[1,2]\n`,
      /line 2: a record must be a JSON object/,
    ],
    [
      'negative latency',
      `${good[0]}\n${good[1]}\n${JSON.stringify({ ...goodRecords(1)[0], latency_ms: -5 })}\n`,
      /records\.jsonl line 3: latency_ms: must be >= 0/,
    ],
    [
      'a missing id',
      `${JSON.stringify({ ...goodRecords(1)[0], id: undefined })}\n`,
      /line 1: id: is required/,
    ],
    [
      'an id with a NUL',
      `${JSON.stringify({ ...goodRecords(1)[0], id: 'a\u0000b' })}\n`,
      /line 1: id: must not contain NUL/,
    ],
    [
      'a bad timestamp',
      `${JSON.stringify({ ...goodRecords(1)[0], created_at: 'yesterday' })}\n`,
      /line 1: created_at: must be an ISO 8601 timestamp/,
    ],
    [
      'an outcome that is not a boolean',
      `${JSON.stringify({ ...goodRecords(1)[0], publish_conversion: 'yes' })}\n`,
      /line 1: publish_conversion: .*expected boolean/,
    ],
    [
      'a record of another variant than the first',
      `${good[0]}\n${JSON.stringify({ ...goodRecords(1)[0], schema_variant: 'flashcards' })}\n`,
      /line 2: schema_variant: is "flashcards" but this run evaluates "sitecraft" \(the first record\)/,
    ],
  ])('%s', async (_name, content, message) => {
    const { args, report, dir } = setup(content);
    const sqlOutput = join(dir, 'out', 'ingest.sql');
    const result = await runCli([...args, '--sql-output', sqlOutput]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(existsSync(report)).toBe(false);
    expect(existsSync(sqlOutput)).toBe(false);
    const out = join(dir, 'out');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('a record of another variant than --schema-variant', async () => {
    const { args } = setup(goodRecords(3));
    const result = await runCli([...args, '--schema-variant', 'interior']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /line 1: schema_variant: is "sitecraft" but this run evaluates "interior" \(--schema-variant\)/,
    );
  });

  it('an unknown gate name', async () => {
    const { args } = setup(goodRecords(3), { schema_valid_min: 0.9 });
    const result = await runCli(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /gates file .*gates\.json: unknown gate "schema_valid_min"; known gates: /,
    );
  });

  it('a gates file that is not JSON', async () => {
    const { args } = setup(goodRecords(3), '{ schema_valid_rate_min: 0.9 ');
    const result = await runCli(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/gates file .*gates\.json is not valid JSON/);
  });

  it('a missing input file', async () => {
    const { args, input } = setup(goodRecords(3));
    const result = await runCli(args.map((arg) => (arg === input ? `${input}.missing` : arg)));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/records\.jsonl\.missing: cannot read the input file \(ENOENT\)/);
  });

  it('an unknown --schema-variant', async () => {
    const { args } = setup(goodRecords(3));
    const result = await runCli([...args, '--schema-variant', 'blog']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Allowed choices are sitecraft, flashcards, interior, generic/);
  });
});

describe('genloop eval run --sql-output', () => {
  it('writes one transaction that inserts the run, its samples in batches, and the terminal status', async () => {
    const { args, dir } = setup(goodRecords(1200), {});
    const sqlOutput = join(dir, 'ingest.sql');
    expect(
      (
        await runCli([
          ...args,
          '--sql-output',
          sqlOutput,
          '--run-type',
          'canary',
          '--triggered-by',
          'manual',
        ])
      ).code,
    ).toBe(0);
    const script = readFileSync(sqlOutput, 'utf8');
    expect(script.match(/^begin;$/gm)).toHaveLength(1);
    expect(script.match(/^commit;$/gm)).toHaveLength(1);
    expect(script.match(/^insert into public\.ai_eval_samples$/gm)).toHaveLength(3);
    expect(script).toContain("values ('canary', 'sitecraft', 'manual', null,");
    expect(script).toMatch(/^set status = 'passed',$/m);
    expect(script).toMatch(/^ {4}sample_count = 1200,$/m);
  });
});
