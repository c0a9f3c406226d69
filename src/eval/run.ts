import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { toError } from '../lib/errors.ts';
import { evaluateGates, type GateThresholds } from './gates.ts';
import { EvalInputError } from './input-error.ts';
import { MetricsAccumulator } from './metrics.ts';
import { buildReport, type EvalReport, storedReport } from './report.ts';
import type { SampleSink } from './sample-sink.ts';
import { scanRecords } from './scan.ts';
import type { SchemaVariant } from './variants.ts';

const MAX_DEFAULT_THREADS = 4;
const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

export interface RunEvalOptions {
  /** The JSONL file of {@link EvalRecord}s. */
  input: string;
  gates: GateThresholds;
  /** Records of another variant are bad input. Default: the first record's variant. */
  schemaVariant?: SchemaVariant | undefined;
  /** Below this many samples the run is inconclusive (exit 3). */
  minSamples: number;
  runType: string;
  triggeredBy: string | null;
  triggerRef?: string | null;
  gitSha: string | null;
  /** Where samples go as they stream (SQL script, database); none for a plain report. */
  sinks?: readonly SampleSink[];
  /** Called after each chunk of input with the number of records so far. */
  onProgress?: (records: number) => void;
  /**
   * Threads that judge records, the main thread included. Default: one per core up to four for
   * an input of 32 MiB or more, else one. Runs with sinks always use one.
   */
  threads?: number;
  now?: () => Date;
}

/**
 * Evaluates a JSONL file in one streaming pass: each line is parsed, validated and judged into a
 * sample, which is folded into the metrics and handed to the sinks. Memory stays constant except
 * for 8 bytes per latency. A large file with no sinks is judged on several threads at once
 * (src/eval/parallel.ts), with the same result. At the end the gates are applied and the sinks
 * finish the run with its terminal status; on bad input they are aborted and an
 * {@link EvalInputError} (exit 1) names the line and the field.
 *
 * @example
 * const report = await runEval({ input: 'records.jsonl', gates: { schema_valid_rate_min: 0.95 },
 *   minSamples: 30, runType: 'manual', triggeredBy: null, gitSha: null });
 */
export async function runEval(options: RunEvalOptions): Promise<EvalReport> {
  const now = options.now ?? (() => new Date());
  const sinks = options.sinks ?? [];
  const startedAt = now().toISOString();
  const triggerRef = options.triggerRef ?? null;
  const explicitVariant = options.schemaVariant !== undefined;

  try {
    const threads = await threadsFor(options, sinks.length);
    let accumulator: MetricsAccumulator;
    let variant: SchemaVariant | undefined;
    if (threads.count > 1) {
      const { scanInParallel } = await import('./parallel.ts');
      ({ accumulator, variant } = await scanInParallel({
        input: options.input,
        size: threads.size,
        threads: threads.count,
        variant: options.schemaVariant,
        explicitVariant,
        onProgress: options.onProgress,
      }));
    } else {
      accumulator = new MetricsAccumulator();
      const scanned = await scanRecords({
        input: options.input,
        variant: options.schemaVariant,
        explicitVariant,
        onFirstRecord: async (firstVariant) => {
          for (const sink of sinks) {
            await sink.begin({
              runType: options.runType,
              schemaVariant: firstVariant,
              triggeredBy: options.triggeredBy,
              triggerRef,
              gitSha: options.gitSha,
              thresholds: options.gates,
              startedAt,
              metadata: { input: options.input, min_samples: options.minSamples },
            });
          }
        },
        onSample: (sample) => {
          accumulator.add(sample);
          for (const sink of sinks) sink.add(sample);
        },
        onBatch: async (records) => {
          for (const sink of sinks) await sink.flush();
          options.onProgress?.(records);
        },
      });
      variant = scanned.variant;
    }

    if (accumulator.sampleCount === 0 || variant === undefined) {
      throw new EvalInputError(
        options.input,
        undefined,
        undefined,
        'has no records; an eval run needs at least one JSON object per line',
      );
    }

    const metrics = accumulator.result();
    const gates = evaluateGates(options.gates, metrics.metrics);
    const report = buildReport(
      {
        schemaVariant: variant,
        minSamples: options.minSamples,
        runType: options.runType,
        triggeredBy: options.triggeredBy,
        triggerRef,
        gitSha: options.gitSha,
        input: options.input,
        startedAt,
        finishedAt: now().toISOString(),
        thresholds: options.gates,
      },
      metrics,
      gates,
    );
    for (const sink of sinks) {
      await sink.finish({
        status: report.passed ? 'passed' : 'failed',
        sampleCount: report.sample_count,
        finishedAt: report.finished_at,
        report: storedReport(report),
        metadata: { inconclusive: report.status === 'inconclusive' },
      });
    }
    return report;
  } catch (error) {
    for (const sink of sinks) await sink.abort(toError(error)).catch(() => {});
    throw error;
  }
}

/**
 * How many threads judge the records: one when samples stream to sinks (they take the samples
 * in file order); else `options.threads`, or by default one per core up to four for a large
 * file (a worker thread costs a few hundred milliseconds to start, so small files stay on one).
 */
async function threadsFor(
  options: RunEvalOptions,
  sinkCount: number,
): Promise<{ count: number; size: number }> {
  if (sinkCount > 0 || options.threads === 1) return { count: 1, size: 0 };
  const size = await stat(options.input).then(
    (stats) => (stats.isFile() ? stats.size : 0),
    () => 0,
  );
  if (size === 0) return { count: 1, size };
  if (options.threads !== undefined) return { count: options.threads, size };
  const cores = Math.min(availableParallelism(), MAX_DEFAULT_THREADS);
  return { count: size >= PARALLEL_MIN_BYTES ? cores : 1, size };
}
