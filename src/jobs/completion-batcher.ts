import type { Db, Queryable } from '../db/types.ts';
import { finishReservations } from '../sql/budgets.ts';
import { finishJobs } from '../sql/finish-job.ts';
import { finalizeGenerations } from '../sql/usage.ts';
import { writeTelemetry } from '../telemetry/writer.ts';
import type { BatchWriter, ClaimedJob, JobOutcome } from './types.ts';

interface Pending {
  job: ClaimedJob;
  outcome: JobOutcome;
  resolve: (held: boolean) => void;
  reject: (error: unknown) => void;
}

export interface CompletionBatcherOptions {
  db: Db;
  workerId: string;
  /** Most jobs completed in one transaction (default 100). */
  maxBatch?: number;
}

/**
 * Completes finished jobs with group commit: one transaction at a time, holding every job that
 * finished while the previous one was being written. Under light load that is one job per
 * transaction; under load one transaction, with one statement per kind of row (job status,
 * result rows, ledger, attempts, training rows), serves many jobs.
 *
 * Per job nothing changes: its terminal status, results, ledger entries (quota and dollars) and
 * telemetry are written in the same transaction, and only while this worker still holds it, so
 * a worker that dies before the commit leaves nothing behind and the job runs again once its
 * lease expires. When a
 * group's transaction fails, each of its jobs is completed again in a transaction of its own,
 * so one bad job cannot hold back the others and each failure is reported for its own job.
 */
export class CompletionBatcher {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | undefined;

  constructor(private readonly options: CompletionBatcherOptions) {}

  /** Resolves true once the job is completed, false when it is no longer this worker's. */
  complete(job: ClaimedJob, outcome: JobOutcome): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, outcome, resolve, reject });
      this.draining ??= this.drain().finally(() => {
        this.draining = undefined;
      });
    });
  }

  private async drain(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 100;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, maxBatch);
      let held: Set<string>;
      try {
        held = await this.completeGroup(batch);
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else for (const pending of batch) await this.completeAlone(pending);
        continue;
      }
      for (const pending of batch) pending.resolve(held.has(pending.job.id));
    }
  }

  private async completeAlone(pending: Pending): Promise<void> {
    try {
      pending.resolve((await this.completeGroup([pending])).has(pending.job.id));
    } catch (error) {
      pending.reject(error);
    }
  }

  /** One transaction for the group; returns the ids that were still this worker's. */
  private completeGroup(batch: readonly Pending[]): Promise<Set<string>> {
    return this.options.db.transaction(async (tx) => {
      const held = new Set(
        await finishJobs(
          tx,
          this.options.workerId,
          batch.map(({ job, outcome }) => ({ id: job.id, result: outcome.result })),
        ),
      );
      if (held.size === 0) return held;
      const mine = held.size === batch.length ? batch : batch.filter((p) => held.has(p.job.id));
      await writeResults(
        tx,
        mine.filter(({ outcome }) => outcome.result.status === 'succeeded'),
      );
      await finalizeGenerations(
        tx,
        mine.map(({ job, outcome }) => ({
          userId: job.user_id,
          generationId: job.id,
          outcome: outcome.result.status === 'succeeded' ? 'settle' : 'refund',
          reason: outcome.result.status,
        })),
      );
      await finishReservations(
        tx,
        mine.map(({ job, outcome }) => budgetEnd(job, outcome)),
      );
      // Last: the training rows' trigger locks shared rollup rows until the commit.
      await writeTelemetry(
        tx,
        mine.flatMap(({ outcome }) => (outcome.telemetry ? [outcome.telemetry] : [])),
      );
      return held;
    });
  }
}

/** How a completed job ends its dollar reservation (a job without one is skipped by the query). */
function budgetEnd(job: ClaimedJob, { result, spentUsd }: JobOutcome) {
  const spent = spentUsd ?? (result.status === 'succeeded' ? (result.costUsd ?? null) : 'nothing');
  return spent === 'nothing'
    ? { reservationId: job.id, outcome: 'refund' as const, reason: result.status }
    : { reservationId: job.id, outcome: 'settle' as const, costUsd: spent, reason: result.status };
}

/** The result rows of succeeded jobs: one statement per batch writer, then the one-off writes. */
async function writeResults(tx: Queryable, succeeded: readonly Pending[]): Promise<void> {
  const groups = new Map<BatchWriter<unknown>, unknown[]>();
  for (const { outcome } of succeeded) {
    if (!outcome.results) continue;
    const items = groups.get(outcome.results.writer);
    if (items) items.push(outcome.results.item);
    else groups.set(outcome.results.writer, [outcome.results.item]);
  }
  for (const [writer, items] of groups) await writer.write(tx, items);
  for (const { outcome } of succeeded) await outcome.writeResults?.(tx);
}
