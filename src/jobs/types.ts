import type { Queryable } from '../db/types.ts';
import type { GenerationTelemetry } from '../routing/telemetry.ts';
import type { ClaimedJob } from '../sql/claim-jobs.ts';
import type { JobResult } from '../sql/finish-job.ts';

/**
 * What running a job produced. The worker writes all of it in one transaction together with
 * the job's terminal status, its telemetry and its ledger entry, so effects happen once.
 */
export interface JobOutcome {
  result: JobResult;
  /** Recipe rows (suggestions, renders); runs inside the completing transaction. */
  writeResults?: (tx: Queryable) => Promise<void>;
  telemetry?: GenerationTelemetry;
}

/** Runs one recipe's jobs. The signal aborts on shutdown or when the lease is lost. */
export interface JobHandler {
  run(job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome>;
}

export type { ClaimedJob };
