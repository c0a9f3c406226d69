export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  random?: () => number;
}

/**
 * Capped exponential backoff with full jitter: a uniform delay in [0, min(cap, base * 2^n)).
 * When the provider sent Retry-After, the delay is never shorter than it.
 *
 * @example
 * backoffDelay(2, undefined) // somewhere in [0, 800) ms with the defaults
 */
export function backoffDelay(
  retry: number,
  retryAfterMs: number | undefined,
  options: BackoffOptions = {},
): number {
  const { baseMs = 200, capMs = 5_000, random = Math.random } = options;
  const ceiling = Math.min(capMs, baseMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
