import type { Db } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';

/** NOTIFY channel on which a webhook tells the worker holding a job that its prediction ended. */
export const PREDICTIONS_CHANNEL = 'genloop_predictions';
/** How long a signal that found nobody waiting still wakes the next waiter. */
const EARLY_SIGNAL_MS = 60_000;
/** Bound on remembered signals (each is a prediction id and a time). */
const MAX_EARLY_SIGNALS = 10_000;

/**
 * Wake-ups for workers waiting on predictions. A webhook (or a status refresh) that finds the
 * job held by a live worker calls {@link notify}: waiters in this process wake at once, and
 * `pg_notify` reaches waiters in other replicas. A lost notification only delays: the waiting
 * worker polls anyway.
 */
export class PredictionSignals {
  private readonly waiters = new Map<string, Set<() => void>>();
  /**
   * Signals that found nobody waiting, kept for a while: a webhook can arrive between the
   * moment a worker stored the prediction id and the moment it starts waiting, and must not
   * be lost then.
   */
  private readonly early = new Map<string, number>();
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly db: Db,
    private readonly logger?: Logger,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(PREDICTIONS_CHANNEL, (payload) => this.wake(payload));
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => {});
    this.unlisten = undefined;
  }

  /** Resolves when `predictionId` is signalled or after `timeoutMs`; rejects when `signal` aborts. */
  wait(predictionId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const signalled = this.early.get(predictionId);
      if (signalled !== undefined) {
        this.early.delete(predictionId);
        if (Date.now() - signalled < EARLY_SIGNAL_MS) {
          resolve();
          return;
        }
      }
      const set = this.waiters.get(predictionId) ?? new Set();
      this.waiters.set(predictionId, set);
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(release);
        if (set.size === 0 && this.waiters.get(predictionId) === set) {
          this.waiters.delete(predictionId);
        }
      };
      const release = () => {
        finish();
        resolve();
      };
      const onAbort = () => {
        finish();
        reject(signal?.reason);
      };
      const timer = setTimeout(release, timeoutMs);
      set.add(release);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes the waiters of a prediction here and in every other replica. */
  async notify(predictionId: string): Promise<void> {
    this.wake(predictionId);
    await this.db
      .query('select pg_notify($1, $2)', [PREDICTIONS_CHANNEL, predictionId])
      .catch((error) => this.logger?.warn({ err: error }, 'prediction notify failed'));
  }

  private wake(predictionId: string): void {
    const waiting = this.waiters.get(predictionId);
    if (!waiting || waiting.size === 0) {
      this.remember(predictionId);
      return;
    }
    for (const release of [...waiting]) release();
  }

  private remember(predictionId: string): void {
    const now = Date.now();
    if (this.early.size >= MAX_EARLY_SIGNALS) {
      for (const [id, at] of this.early) {
        if (now - at >= EARLY_SIGNAL_MS || this.early.size >= MAX_EARLY_SIGNALS) {
          this.early.delete(id);
        } else break;
      }
    }
    this.early.delete(predictionId);
    this.early.set(predictionId, now);
  }
}
