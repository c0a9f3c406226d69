import { setMaxListeners } from 'node:events';

/**
 * Owns every timer and every in-flight wait of a running simulator, so that `close()` can end
 * them all at once: hanging requests return, sleeps resolve early, and no timer outlives the
 * server (tests exit cleanly).
 */
export class Lifecycle {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #closer = new AbortController();

  constructor() {
    // Every pending sleep, hanging request and webhook POST listens here; many at once is normal.
    setMaxListeners(0, this.#closer.signal);
  }

  /** Aborted when the simulator closes. */
  get signal(): AbortSignal {
    return this.#closer.signal;
  }

  get closed(): boolean {
    return this.#closer.signal.aborted;
  }

  /** `setTimeout` that close() clears; returns a function that cancels it. */
  timeout(ms: number, callback: () => void): () => void {
    if (this.closed) return () => {};
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, clampDelay(ms));
    this.#timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  /**
   * Waits `ms`; resolves true when the time is up, false as soon as `signal` aborts or the
   * simulator closes (the caller then stops what it was doing).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closed || signal?.aborted) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (elapsed: boolean) => {
        cancel();
        signal?.removeEventListener('abort', onAbort);
        this.signal.removeEventListener('abort', onAbort);
        resolve(elapsed);
      };
      const onAbort = () => finish(false);
      const cancel = this.timeout(ms, () => finish(true));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves when `signal` aborts or the simulator closes: a request that never gets an answer. */
  waitForAbort(signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#closer.abort();
  }
}

// setTimeout treats anything above 2^31-1 ms as 1 ms; a longer wait is as good as forever.
function clampDelay(ms: number): number {
  return Math.min(Math.max(0, ms), 2_147_483_647);
}
