import type { Db } from '../db/types.ts';
import { writeTelemetry } from '../routing/telemetry.ts';
import { finalizeGenerations } from '../sql/finalize-generations.ts';
import { finishJob, finishJobs } from '../sql/finish-job.ts';
import { finalizeGeneration } from '../sql/usage.ts';
import type { ClaimedJob, JobOutcome } from './types.ts';

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
 * transaction, as before; under load, one commit (and one pass through the telemetry rollup
 * row every completion has to lock) serves many jobs.
 *
 * Per job nothing changes: its terminal status, results, ledger entry and telemetry are written
 * in the same transaction, and only while this worker still holds it. When a group's
 * transaction fails, each of its jobs is completed again in a transaction of its own, so one
 * bad job cannot hold back the others and each failure is reported for its own job.
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
      if (batch.length === 1) {
        await this.completeOne(batch[0]!);
        continue;
      }
      let held: Set<string>;
      try {
        held = await this.completeMany(batch);
      } catch {
        for (const pending of batch) await this.completeOne(pending);
        continue;
      }
      for (const pending of batch) pending.resolve(held.has(pending.job.id));
    }
  }

  private async completeOne({ job, outcome, resolve, reject }: Pending): Promise<void> {
    try {
      const held = await this.options.db.transaction(async (tx) => {
        const mine = await finishJob(tx, job.id, this.options.workerId, outcome.result);
        if (!mine) throw new LostJob();
        if (outcome.result.status === 'succeeded') await outcome.writeResults?.(tx);
        await finalizeGeneration(tx, {
          userId: job.user_id,
          generationId: job.id,
          outcome: outcome.result.status === 'succeeded' ? 'settle' : 'refund',
          reason: outcome.result.status,
        });
        if (outcome.telemetry) await writeTelemetry(tx, [outcome.telemetry]);
        return true;
      });
      resolve(held);
    } catch (error) {
      if (error instanceof LostJob) resolve(false);
      else reject(error);
    }
  }

  private completeMany(batch: readonly Pending[]): Promise<Set<string>> {
    return this.options.db.transaction(async (tx) => {
      const held = new Set(
        await finishJobs(
          tx,
          this.options.workerId,
          batch.map(({ job, outcome }) => ({ id: job.id, result: outcome.result })),
        ),
      );
      const mine = batch.filter(({ job }) => held.has(job.id));
      for (const { outcome } of mine) {
        if (outcome.result.status === 'succeeded') await outcome.writeResults?.(tx);
      }
      await finalizeGenerations(
        tx,
        mine.map(({ job, outcome }) => ({
          userId: job.user_id,
          generationId: job.id,
          outcome: outcome.result.status === 'succeeded' ? 'settle' : 'refund',
          reason: outcome.result.status,
        })),
      );
      await writeTelemetry(
        tx,
        mine.flatMap(({ outcome }) => (outcome.telemetry ? [outcome.telemetry] : [])),
      );
      return held;
    });
  }
}

class LostJob extends Error {}
