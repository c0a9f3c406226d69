import { Cancellation, type CancelSource, onCancel } from '../lib/cancellation.ts';
import { AttemptTimeout } from '../providers/errors.ts';

/** The cancellation of one provider call, and what the router needs to know about it. */
export interface AttemptSignal {
  /** Cancelled by the attempt's timeout or by the caller; what a transport listens to. */
  cancellation: Cancellation;
  /** The same as an `AbortSignal`, made only when read (for providers that take one). */
  readonly signal: AbortSignal;
  /** True when the call was aborted by its own `timeout_ms`, not by the caller going away. */
  timedOut(): boolean;
  /** Aborts the call from outside (a stream that stalls after its first chunk). */
  abort(reason: unknown): void;
  /** Stops the timer and lets go of the caller's cancellation; `abort` still works afterwards. */
  dispose(): void;
}

export interface AttemptSignalOptions {
  timeoutMs: number;
  /** The caller's cancellation or signal: when it fires, so does the call's. */
  caller?: CancelSource | undefined;
}

/**
 * A cancellation that aborts one provider call after `timeoutMs` (with an {@link AttemptTimeout}
 * reason, so a timeout is told from a cancel) or when the caller cancels, whichever comes first.
 */
export function attemptSignal({ timeoutMs, caller }: AttemptSignalOptions): AttemptSignal {
  const cancellation = new Cancellation();
  const timer = setTimeout(() => cancellation.cancel(new AttemptTimeout(timeoutMs)), timeoutMs);
  const release = caller ? onCancel(caller, (reason) => cancellation.cancel(reason)) : undefined;
  return {
    cancellation,
    get signal() {
      return cancellation.signal;
    },
    timedOut: () => cancellation.aborted && cancellation.reason instanceof AttemptTimeout,
    abort: (reason) => cancellation.cancel(reason),
    dispose: () => {
      clearTimeout(timer);
      release?.();
    },
  };
}
