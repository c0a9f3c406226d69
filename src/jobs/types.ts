import type { Queryable } from '../db/types.ts';
import type { ClaimedJob } from '../sql/claim-jobs.ts';
import type { JobResult } from '../sql/finish-job.ts';
import type { GenerationTelemetry } from '../telemetry/rows.ts';

/**
 * Writes the result rows of many jobs in one statement, inside the transaction that completes
 * them (the worker completes jobs in groups). Define one per kind of row, once, so the worker
 * can tell which jobs' rows go into the same statement.
 */
export interface BatchWriter<T> {
  write(tx: Queryable, items: readonly T[]): Promise<void>;
}

/** One job's share of a {@link BatchWriter} statement; build it with {@link batched}. */
export interface BatchedResults {
  readonly writer: BatchWriter<unknown>;
  readonly item: unknown;
}

/** Pairs a job's result rows with the writer that inserts them together with other jobs' rows. */
export function batched<T>(writer: BatchWriter<T>, item: T): BatchedResults {
  return { writer: writer as BatchWriter<unknown>, item };
}

/**
 * What running a job produced. The worker writes all of it in one transaction together with
 * the job's terminal status, its telemetry and its ledger entry, so effects happen once. Result
 * rows (written only when the job succeeded) come as `results`, which the worker writes for a
 * whole group of jobs in one statement, or as `writeResults` for rows that need statements of
 * their own.
 */
export interface JobOutcome {
  result: JobResult;
  /** Recipe rows written in one statement with those of the other jobs completed alongside. */
  results?: BatchedResults;
  /** Recipe rows (renders); runs inside the completing transaction. */
  writeResults?: (tx: Queryable) => Promise<void>;
  telemetry?: GenerationTelemetry;
  /**
   * What the job's provider calls cost, to settle its dollar reservation: a number settles it
   * (the rest is given back), null keeps it spent (an answer of unknown cost), 'nothing' refunds
   * it. When absent, a succeeded job settles `result.costUsd` and a failed one is refunded.
   */
  spentUsd?: number | null | 'nothing';
}

/** Runs one recipe's jobs. The signal aborts on shutdown or when the lease is lost. */
export interface JobHandler {
  run(job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome>;
}

export type { ClaimedJob };
