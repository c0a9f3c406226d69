import { AttemptTimeout } from '../providers/errors.ts';

/** The abort signal of one provider call, and what the router needs to know about it. */
export interface AttemptSignal {
  signal: AbortSignal;
  /** True when the call was aborted by its own `timeout_ms`, not by the caller going away. */
  timedOut(): boolean;
  /** Aborts the call from outside (a stream that stalls after its first chunk). */
  abort(reason: unknown): void;
  /** Stops the timer and lets go of the caller's signal; `abort` still works afterwards. */
  dispose(): void;
}

export interface AttemptSignalOptions {
  timeoutMs: number;
  /** The caller's signal: when it aborts, so does the call. */
  caller?: AbortSignal | undefined;
}

/**
 * A signal that aborts one provider call after `timeoutMs` (with an {@link AttemptTimeout}
 * reason, so a timeout is told from a cancel) or when the caller aborts, whichever comes first.
 */
export function attemptSignal({ timeoutMs, caller }: AttemptSignalOptions): AttemptSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new AttemptTimeout(timeoutMs)), timeoutMs);
  const onCallerAbort = () => controller.abort(caller?.reason);
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  if (caller?.aborted) controller.abort(caller.reason);
  return {
    signal: controller.signal,
    timedOut: () => controller.signal.aborted && controller.signal.reason instanceof AttemptTimeout,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    },
  };
}
