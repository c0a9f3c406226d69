import { ProviderError } from '../../providers/errors.ts';
import { selectTimedOutPredictions } from '../../sql/generation-jobs.ts';
import { applyPrediction } from './apply-prediction.ts';
import type { InteriorDeps } from './deps.ts';

export interface PollerOptions {
  /** Time between sweeps (default 30 s). */
  intervalMs?: number;
  /** How long after a timeout a prediction is still worth asking about (Replicate keeps outputs ~1 h). */
  windowMs?: number;
  /** Predictions looked at per sweep. */
  batch?: number;
}

/**
 * The backup path for webhooks that never come, for jobs no worker waits on any more: a job
 * that timed out while its prediction kept running is polled until the prediction ends (within
 * the window), and a late success still completes it. Jobs a worker holds are polled by that
 * worker itself; jobs whose worker died are re-run by the reaper and resume their prediction.
 */
export class PredictionPoller {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly deps: InteriorDeps,
    private readonly options: PollerOptions = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** One pass; resolves with the number of jobs it completed. Concurrent calls share a pass. */
  sweep(): Promise<number> {
    this.sweeping ??= this.pass().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async pass(): Promise<number> {
    const { deps } = this;
    const client = deps.replicate;
    const config = await deps.providerConfig().catch(() => undefined);
    if (!client || !config) return 0;
    let completed = 0;
    try {
      const jobs = await selectTimedOutPredictions(deps.db, {
        withinMs: this.options.windowMs ?? 3_600_000,
        limit: this.options.batch ?? 20,
      });
      for (const job of jobs) {
        try {
          const prediction = await client.get(job.provider_prediction_id, {
            timeoutMs: config.timeoutMs,
          });
          if ((await applyPrediction(deps, prediction)) === 'completed') completed++;
        } catch (error) {
          const level = error instanceof ProviderError && error.retryable ? 'info' : 'warn';
          deps.logger[level](
            { err: error, generation_id: job.id, prediction_id: job.provider_prediction_id },
            'polling a timed-out prediction failed',
          );
        }
      }
    } catch (error) {
      deps.logger.warn({ err: error }, 'prediction poller sweep failed');
    }
    return completed;
  }
}
