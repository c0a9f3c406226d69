import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../db/types.ts';
import { toError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { type ClaimedJob, claimJobs, heartbeatJobs, releaseJobs } from '../sql/claim-jobs.ts';
import { reapJobs } from '../sql/reap-jobs.ts';
import { countGeneration } from '../telemetry/metrics.ts';
import { CompletionBatcher } from './completion-batcher.ts';
import type { JobHandler, JobOutcome } from './types.ts';

export const JOBS_CHANNEL = 'genloop_jobs';

export interface WorkerOptions {
  db: Db;
  logger: Logger;
  handlers: Readonly<Partial<Record<ClaimedJob['recipe'], JobHandler>>>;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  runningTimeoutMs: number;
  /** How often the reaper looks for expired leases (default: a third of the lease). */
  reapIntervalMs?: number;
  workerId?: string;
  metrics?: Metrics;
  onJobFinished?: (job: ClaimedJob, status: string, durationMs: number) => void;
}

/**
 * Runs queued jobs: claims in batches (`for update skip locked`), holds a lease with a
 * heartbeat, completes each job in one transaction, and reaps expired leases of crashed
 * workers (once on start, then on an interval). Wakes on NOTIFY, polls as a fallback.
 */
export class Worker {
  readonly id: string;
  private readonly running = new Map<
    string,
    { job: ClaimedJob; controller: AbortController; done: Promise<void> }
  >();
  private readonly recipes: string[];
  private stopping = false;
  private claiming: Promise<void> | undefined;
  private claimAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private unlisten: (() => Promise<void>) | undefined;
  private readonly completions: CompletionBatcher;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.recipes = Object.keys(options.handlers);
    this.completions = new CompletionBatcher({ db: options.db, workerId: this.id });
  }

  get inFlight(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    this.unlisten = await this.options.db.listen(JOBS_CHANNEL, () => this.wake(), {
      onReconnect: () => this.wake(),
    });
    const every = (ms: number, fn: () => void) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.pollMs, () => this.wake());
    every(Math.max(50, Math.floor(this.options.leaseMs / 3)), () => void this.heartbeat());
    every(
      this.options.reapIntervalMs ?? Math.max(100, Math.floor(this.options.leaseMs / 3)),
      () => void this.reap(),
    );
    // Reap before the first claim rather than on the first tick: a worker that crash-loops
    // faster than its interval would otherwise never reap, and jobs whose leases expired with
    // an earlier worker would wait for good. Held as the claim, so stop() waits for both.
    this.claiming = this.reap()
      .then(() => this.claimLoop())
      .finally(() => {
        this.claiming = undefined;
      });
  }

  /** Claims jobs now if there is room (NOTIFY, poll and job completion call this). */
  wake(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    // One tick later: jobs completed together (one group commit) then free their slots
    // together, and one claim fills them all instead of one claim per job.
    this.claiming = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (this.stopping ? undefined : this.claimLoop()))
      .finally(() => {
        this.claiming = undefined;
      });
  }

  /**
   * Graceful stop: no new claims; running jobs get `graceMs` to finish, then are aborted and
   * released to the queue for another worker.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.unlisten?.().catch(() => {});
    await this.claiming;
    const all = Promise.allSettled([...this.running.values()].map((entry) => entry.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    const left = [...this.running.values()];
    if (left.length > 0) {
      for (const entry of left) entry.controller.abort(new Error('worker shutting down'));
      const released = await releaseJobs(this.options.db, {
        workerId: this.id,
        ids: left.map((e) => e.job.id),
      }).catch(() => 0);
      this.options.logger.info({ released }, 'released running jobs for another worker');
      await Promise.allSettled(left.map((entry) => entry.done));
    }
  }

  private async claimLoop(): Promise<void> {
    do {
      this.claimAgain = false;
      const room = this.options.concurrency - this.running.size;
      if (room <= 0) return;
      let jobs: ClaimedJob[];
      try {
        jobs = await claimJobs(this.options.db, {
          workerId: this.id,
          limit: room,
          leaseMs: this.options.leaseMs,
          recipes: this.recipes,
        });
      } catch (error) {
        this.options.logger.warn({ err: error }, 'claiming jobs failed; will retry');
        // Soon, not at the next poll: the NOTIFY that woke this claim will not come again (a
        // connection killed under the pool fails once, and the next claim gets a fresh one).
        setTimeout(() => this.wake(), Math.min(this.options.pollMs, 250)).unref();
        return;
      }
      for (const job of jobs) this.launch(job);
      if (jobs.length === room) this.claimAgain = true;
    } while (this.claimAgain && !this.stopping);
  }

  private launch(job: ClaimedJob): void {
    this.options.metrics?.claimLatency.observe(
      { recipe: job.recipe },
      Math.max(0, Date.now() - job.created_at.getTime()) / 1000,
    );
    const controller = new AbortController();
    const started = performance.now();
    const done = this.execute(job, controller.signal)
      .then((status) => {
        this.options.onJobFinished?.(job, status, performance.now() - started);
      })
      .finally(() => {
        this.running.delete(job.id);
        this.wake();
      });
    this.running.set(job.id, { job, controller, done });
  }

  private async execute(job: ClaimedJob, signal: AbortSignal): Promise<string> {
    const { logger, metrics } = this.options;
    // Plain objects rather than a child logger per job: at a thousand jobs a second the
    // bindings a child serialises up front are work spent on lines the level may drop.
    const about = () => ({ generation_id: job.id, user_id: job.user_id, recipe: job.recipe });
    const handler = this.options.handlers[job.recipe];
    let outcome: JobOutcome;
    try {
      if (!handler) throw new Error(`no handler for recipe ${job.recipe}`);
      outcome = await handler.run(job, signal);
    } catch (error) {
      if (signal.aborted) return 'released';
      logger.error({ ...about(), err: toError(error) }, 'job handler crashed');
      outcome = {
        result: {
          status: 'failed',
          error: { code: 'internal_error', message: 'the job failed unexpectedly' },
        },
      };
    }
    if (signal.aborted) return 'released';
    try {
      const finished = await this.complete(job, outcome);
      const { result } = outcome;
      if (!finished) {
        logger.warn(about(), 'job no longer held by this worker; result discarded');
        return 'lost';
      }
      if (logger.isLevelEnabled('info')) {
        logger.info(
          {
            ...about(),
            status: result.status,
            provider: result.provider,
            tokens_input: result.tokensInput,
            tokens_output: result.tokensOutput,
            request_id: result.requestId,
          },
          'job finished',
        );
      }
      metrics?.jobsFinished.inc({ recipe: job.recipe, status: result.status });
      if (outcome.telemetry && metrics) countGeneration(metrics, outcome.telemetry);
      return result.status;
    } catch (error) {
      // The transaction rolled back: the lease will expire and the job runs again.
      logger.error({ ...about(), err: error }, 'completing the job failed');
      return 'error';
    }
  }

  /** Results, status, telemetry and ledger in one transaction; nothing is written if the job is no longer ours. */
  private complete(job: ClaimedJob, outcome: JobOutcome): Promise<boolean> {
    return this.completions.complete(job, outcome);
  }

  private async heartbeat(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    try {
      const held = new Set(
        await heartbeatJobs(this.options.db, {
          workerId: this.id,
          ids,
          leaseMs: this.options.leaseMs,
        }),
      );
      for (const id of ids) {
        // Lost (reaped, canceled): stop working on it; completing would be refused anyway.
        if (!held.has(id)) this.running.get(id)?.controller.abort(new Error('lease lost'));
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'heartbeat failed');
    }
  }

  private async reap(): Promise<void> {
    try {
      const result = await reapJobs(this.options.db, {
        runningTimeoutMs: this.options.runningTimeoutMs,
        recipes: this.recipes,
      });
      if (result.requeued + result.failed + result.timedOut > 0) {
        this.options.logger.info(result, 'reaped jobs');
        if (result.requeued > 0) this.wake();
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'reaping jobs failed');
    }
  }
}
