import { toError } from '../lib/errors.ts';
import { evaluateGates, type GateThresholds } from './gates.ts';
import { EvalInputError } from './input-error.ts';
import { LineTooLongError, readLineBatches } from './jsonl.ts';
import { MetricsAccumulator } from './metrics.ts';
import { parseRecordLine } from './parse-record.ts';
import type { EvalRecord } from './record.ts';
import { buildReport, type EvalReport, storedReport } from './report.ts';
import { judgeRecord } from './sample.ts';
import type { SampleSink } from './sample-sink.ts';
import type { SchemaVariant } from './variants.ts';

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
  now?: () => Date;
}

/**
 * Evaluates a JSONL file in one streaming pass: each line is parsed, validated and judged into a
 * sample, which is folded into the metrics and handed to the sinks. Memory stays constant except
 * for 8 bytes per latency. At the end the gates are applied and the sinks finish the run with
 * its terminal status; on bad input they are aborted and an {@link EvalInputError} (exit 1)
 * names the line and the field.
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
  const accumulator = new MetricsAccumulator();
  let variant = options.schemaVariant;
  let begun = false;

  try {
    for await (const batch of lineBatches(options.input)) {
      for (const line of batch) {
        if (line.text.trim() === '') continue;
        const record = parseRecordLine(options.input, line);
        if (variant === undefined) variant = record.schema_variant;
        else {
          checkVariant(
            options.input,
            line.number,
            record,
            variant,
            options.schemaVariant !== undefined,
          );
        }
        if (!begun) {
          begun = true;
          for (const sink of sinks) {
            await sink.begin({
              runType: options.runType,
              schemaVariant: variant,
              triggeredBy: options.triggeredBy,
              triggerRef,
              gitSha: options.gitSha,
              thresholds: options.gates,
              startedAt,
              metadata: { input: options.input, min_samples: options.minSamples },
            });
          }
        }
        const sample = judgeRecord(record, variant);
        accumulator.add(sample);
        for (const sink of sinks) sink.add(sample);
      }
      for (const sink of sinks) await sink.flush();
      options.onProgress?.(accumulator.sampleCount);
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

async function* lineBatches(input: string) {
  try {
    yield* readLineBatches(input);
  } catch (error) {
    if (error instanceof LineTooLongError) {
      throw new EvalInputError(
        input,
        error.lineNumber,
        undefined,
        error.message.replace(/^line \d+ /, ''),
      );
    }
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      throw new EvalInputError(input, undefined, undefined, `cannot read the input file (${code})`);
    }
    throw error;
  }
}

/** Every record of a run has the run's variant; another one is bad input naming the line. */
function checkVariant(
  input: string,
  lineNumber: number,
  record: EvalRecord,
  variant: SchemaVariant,
  explicitVariant: boolean,
): void {
  if (record.schema_variant === variant) return;
  throw new EvalInputError(
    input,
    lineNumber,
    'schema_variant',
    `is "${record.schema_variant}" but this run evaluates "${variant}" (${explicitVariant ? '--schema-variant' : 'the first record'}); split the file per variant`,
  );
}
