import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvalInputError } from '../../src/eval/input-error.ts';
import { chunkBoundaries, scanInParallel } from '../../src/eval/parallel.ts';
import { runEval } from '../../src/eval/run.ts';
import { evalRunArgs, goodRecords, runCli, SAFE_SITE, temporaryDir } from './cli-helpers.ts';

// Parallel eval runs must be indistinguishable from a single pass: the same metrics, and on bad
// input the same first error with the file's line number. These tests need no database.

const UNSAFE_SITE = {
  ...SAFE_SITE,
  sections: [{ id: 'x', type: 'hero', html: '<div onclick="steal()" class="p-4">x</div>' }],
};

/** A varied file: outputs safe, unsafe and invalid, null and explicit outcomes, latencies. */
function mixedLines(count: number): string[] {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const base = goodRecords(count);
  return base.map((record, index) => {
    const pick = random();
    const varied = {
      ...record,
      output: pick < 0.1 ? UNSAFE_SITE : pick < 0.15 ? { title: 1 } : pick < 0.5 ? null : SAFE_SITE,
      latency_ms: random() < 0.05 ? null : Math.round(random() * 5000),
      fallback_used: random() < 0.1,
      publish_conversion: random() < 0.3 ? null : random() < 0.5,
      edit_after_generate: random() < 0.5 ? undefined : random() < 0.4,
      patch_apply_success: index % 7 === 0 ? false : index % 3 === 0 ? null : true,
    };
    return JSON.stringify(varied);
  });
}

function writeLines(lines: readonly string[], ending = '\n', trailing = true): string {
  const path = join(temporaryDir(), 'records.jsonl');
  writeFileSync(path, lines.join(ending) + (trailing ? ending : ''));
  return path;
}

const baseOptions = {
  gates: { schema_valid_rate_min: 0.5, p95_latency_ms_max: 4000 },
  minSamples: 30,
  runType: 'manual',
  triggeredBy: null,
  gitSha: null,
  now: () => new Date('2026-02-15T12:00:00Z'),
};

/** The parts of a report that come from the records. */
async function evaluated(input: string, threads: number) {
  const report = await runEval({ ...baseOptions, input, threads });
  return {
    passed: report.passed,
    sample_count: report.sample_count,
    metrics: report.metrics,
    gates: report.gates,
    counts: report.counts,
    latency_ms: report.latency_ms,
  };
}

async function firstError(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(EvalInputError);
    return (error as Error).message;
  }
  throw new Error('expected the run to fail on bad input');
}

/** The error of one pass and of a parallel scan cut into many small chunks. */
async function bothErrors(input: string, schemaVariant?: 'sitecraft' | 'interior') {
  const single = await firstError(() =>
    runEval({ ...baseOptions, input, threads: 1, schemaVariant }),
  );
  const parallel = await firstError(() =>
    scanInParallel({
      input,
      size: statSync(input).size,
      threads: 2,
      chunks: 23,
      variant: schemaVariant,
      explicitVariant: schemaVariant !== undefined,
    }),
  );
  return { single, parallel };
}

describe('parallel eval runs give the metrics of a single pass', () => {
  it('on 1, 2 and 3 threads, with blank lines and CRLF endings', async () => {
    const lines = mixedLines(600);
    lines.splice(100, 0, '', '   ');
    const input = writeLines(lines, '\r\n');
    const single = await evaluated(input, 1);
    expect(single.sample_count).toBe(600);
    expect(single.metrics.safety_html_tailwind_compliance).toBeLessThan(1);
    expect(await evaluated(input, 2)).toEqual(single);
    expect(await evaluated(input, 3)).toEqual(single);
  });

  it('when cut into more chunks than lines would need, and into one', async () => {
    const input = writeLines(mixedLines(250));
    const single = await runEval({ ...baseOptions, input, threads: 1 });
    for (const chunks of [1, 5, 64, 400]) {
      const { accumulator, variant } = await scanInParallel({
        input,
        size: statSync(input).size,
        threads: 2,
        chunks,
        variant: undefined,
        explicitVariant: false,
      });
      expect(variant).toBe('sitecraft');
      const metrics = accumulator.result();
      expect(metrics.sample_count).toBe(250);
      expect(metrics.metrics).toEqual(single.metrics);
      expect(metrics.latency_ms).toEqual(single.latency_ms);
    }
  });

  it('reports progress up to the record count', async () => {
    const input = writeLines(mixedLines(300));
    const seen: number[] = [];
    await scanInParallel({
      input,
      size: statSync(input).size,
      threads: 2,
      chunks: 3,
      variant: undefined,
      explicitVariant: false,
      onProgress: (records) => seen.push(records),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(300);
  });

  it('genloop eval run --threads 2 writes the report of --threads 1', async () => {
    const input = writeLines(mixedLines(200));
    const dir = temporaryDir();
    const gates = join(dir, 'gates.json');
    writeFileSync(gates, JSON.stringify({ fallback_rate_max: 0.5 }));
    const reports: unknown[] = [];
    for (const threads of ['1', '2']) {
      const report = join(dir, `report-${threads}.json`);
      const result = await runCli(evalRunArgs(input, gates, report, threads));
      expect(result.code).toBe(0);
      const { metrics, counts, latency_ms, sample_count } = JSON.parse(
        readFileSync(report, 'utf8'),
      );
      reports.push({ metrics, counts, latency_ms, sample_count });
    }
    expect(reports[1]).toEqual(reports[0]);
  });
});

describe('parallel eval runs report the first bad line of the file', () => {
  it('a line that is not JSON deep in the file', async () => {
    const lines = mixedLines(400);
    lines[333] = 'not json';
    const { single, parallel } = await bothErrors(writeLines(lines));
    expect(single).toMatch(/line 334: not valid JSON/);
    expect(parallel).toBe(single);
  });

  it('the earlier of two bad lines in different chunks', async () => {
    const lines = mixedLines(400);
    lines[150] = JSON.stringify({ ...JSON.parse(lines[150]!), latency_ms: -1 });
    lines[390] = '[1]';
    const { single, parallel } = await bothErrors(writeLines(lines));
    expect(single).toMatch(/line 151: latency_ms: must be >= 0/);
    expect(parallel).toBe(single);
  });

  it('a truncated last line', async () => {
    const lines = mixedLines(300);
    lines[299] = lines[299]!.slice(0, 50);
    const { single, parallel } = await bothErrors(writeLines(lines, '\n', false));
    expect(single).toMatch(/line 300: not valid JSON .*looks truncated/);
    expect(parallel).toBe(single);
  });

  it('a record of another variant than the first record, far from it', async () => {
    const lines = mixedLines(400);
    lines[275] = JSON.stringify({ ...JSON.parse(lines[275]!), schema_variant: 'flashcards' });
    const { single, parallel } = await bothErrors(writeLines(lines));
    expect(single).toMatch(/line 276: schema_variant: is "flashcards" .*\(the first record\)/);
    expect(parallel).toBe(single);
  });

  it('whole chunks of another variant than the first record', async () => {
    const lines = mixedLines(400).map((line, index) =>
      index >= 200 ? JSON.stringify({ ...JSON.parse(line), schema_variant: 'generic' }) : line,
    );
    const { single, parallel } = await bothErrors(writeLines(lines));
    expect(single).toMatch(/line 201: schema_variant: is "generic" .*\(the first record\)/);
    expect(parallel).toBe(single);
  });

  it('a run whose --schema-variant no record has', async () => {
    const { single, parallel } = await bothErrors(writeLines(mixedLines(100)), 'interior');
    expect(single).toMatch(/line 1: schema_variant: .*\(--schema-variant\)/);
    expect(parallel).toBe(single);
  });

  it('blank lines before a bad line count in its number', async () => {
    const lines = mixedLines(300);
    lines.splice(10, 0, '', '', '');
    lines[250] = '{"id": 1}';
    const { single, parallel } = await bothErrors(writeLines(lines));
    expect(single).toMatch(/line 251: /);
    expect(parallel).toBe(single);
  });
});

describe('chunkBoundaries', () => {
  it('cuts at line starts, in increasing order, from 0 to the size', async () => {
    const input = writeLines(mixedLines(120));
    const bytes = readFileSync(input);
    const boundaries = await chunkBoundaries(input, bytes.length, 9);
    expect(boundaries[0]).toBe(0);
    expect(boundaries.at(-1)).toBe(bytes.length);
    expect(boundaries.length).toBeGreaterThan(5);
    for (let index = 1; index < boundaries.length; index++) {
      expect(boundaries[index]!).toBeGreaterThan(boundaries[index - 1]!);
      if (index < boundaries.length - 1) expect(bytes[boundaries[index]! - 1]).toBe(0x0a);
    }
  });

  it('keeps one long line whole', async () => {
    const path = join(temporaryDir(), 'one.jsonl');
    writeFileSync(path, 'x'.repeat(200_000));
    expect(await chunkBoundaries(path, 200_000, 8)).toEqual([0, 200_000]);
  });
});
