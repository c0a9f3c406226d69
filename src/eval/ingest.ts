import { asService } from '../db/context.ts';
import type { Db } from '../db/types.ts';
import { toError } from '../lib/errors.ts';
import { DbSampleSink } from './db-sink.ts';
import { EvalInputError } from './input-error.ts';
import type { EvalReport } from './report.ts';
import { type RunEvalOptions, runEval } from './run.ts';
import type { EvalRunHeader } from './sample-sink.ts';

export interface IngestOptions extends RunEvalOptions {
  /** Runs before commit with the finished report; throwing rolls the whole run back. */
  beforeCommit?: (report: EvalReport) => void | Promise<void>;
}

/**
 * Runs the eval and ingests it in one transaction: the run row, its samples and its terminal
 * status commit together. When the input turns out bad half-way, the transaction is rolled back
 * (no sample survives) and an `aborted` run with zero samples and the error is recorded instead,
 * so the failed attempt is visible in `ai_eval_runs`.
 *
 * @returns the report, with `run_id` set.
 */
export async function runEvalAndIngest(db: Db, options: IngestOptions): Promise<EvalReport> {
  let header: EvalRunHeader | undefined;
  try {
    return await asService(db, async (tx) => {
      const sink = new DbSampleSink(tx);
      const report = await runEval({
        ...options,
        sinks: [
          ...(options.sinks ?? []),
          {
            begin: async (runHeader) => {
              header = runHeader;
              await sink.begin(runHeader);
            },
            add: (sample) => sink.add(sample),
            flush: (force) => sink.flush(force),
            finish: (ending) => sink.finish(ending),
            abort: () => sink.abort(),
          },
        ],
      });
      const ingested = { ...report, run_id: sink.runId ?? null };
      await options.beforeCommit?.(ingested);
      return ingested;
    });
  } catch (error) {
    if (error instanceof EvalInputError) {
      const variant = header?.schemaVariant ?? options.schemaVariant;
      await recordAbortedRun(
        db,
        { ...options, schemaVariant: variant },
        header?.startedAt,
        error,
      ).catch((recordError) => {
        throw new EvalInputError(
          error.path,
          error.line,
          error.field,
          `${error.problem} (and recording the aborted run failed: ${toError(recordError).message})`,
        );
      });
    }
    throw error;
  }
}

/** An `aborted` run with zero samples, carrying the error that stopped it. */
export async function recordAbortedRun(
  db: Db,
  options: Pick<
    RunEvalOptions,
    'runType' | 'triggeredBy' | 'triggerRef' | 'gitSha' | 'gates' | 'schemaVariant' | 'input'
  >,
  startedAt: string | undefined,
  error: EvalInputError,
): Promise<number> {
  const report = {
    status: 'aborted',
    error: error.message,
    line: error.line ?? null,
    field: error.field ?? null,
    input: options.input,
  };
  const { rows } = await asService(db, (tx) =>
    tx.query<{ id: number }>(
      `insert into public.ai_eval_runs
         (run_type, schema_variant, triggered_by, trigger_ref, git_sha, thresholds, status,
          sample_count, report, metadata, started_at, finished_at)
       values ($1, $2, $3, $4, $5, $6::jsonb, 'aborted', 0, $7::jsonb, $8::jsonb,
               coalesce($9::timestamptz, now()), now())
       returning id`,
      [
        options.runType,
        options.schemaVariant ?? 'generic',
        options.triggeredBy,
        options.triggerRef ?? null,
        options.gitSha,
        JSON.stringify(options.gates),
        JSON.stringify(report),
        JSON.stringify({ error: error.message, input: options.input }),
        startedAt ?? null,
      ],
    ),
  );
  return Number(rows[0]!.id);
}
