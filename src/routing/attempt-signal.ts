import { Cancellation, type CancelSource, onCancel } from '../lib/cancellation.ts';
import { AttemptTimeout } from '../providers/errors.ts';

/** The cancellation of one provider call, and what the router needs to know about it. */
export interface AttemptSignal {
  /** Cancelled by the attempt's timeout or by the caller; what a transport listens to. */
  cancellation: Cancellation;
  /** The same as an `AbortSignal`, made only when read (for providers that take one). */
  readonly signal: AbortSignal;
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
  return new Attempt(timeoutMs, caller);
}

/**
 * A class rather than an object literal with a getter: a literal with an accessor gets its own
 * hidden class each time it is made, held in the old generation, and that kept every call's
 * objects alive through young-generation collections (promoted, then collected only by a full
 * one): megabytes a second at a few hundred calls a second.
 */
class Attempt implements AttemptSignal {
  readonly cancellation = new Cancellation();
  private readonly timer: NodeJS.Timeout;
  private readonly release: (() => void) | undefined;

  constructor(timeoutMs: number, caller: CancelSource | undefined) {
    const { cancellation } = this;
    this.timer = setTimeout(() => cancellation.cancel(new AttemptTimeout(timeoutMs)), timeoutMs);
    this.release = caller ? onCancel(caller, (reason) => cancellation.cancel(reason)) : undefined;
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  /** Bound: handed on as a plain function (a stream's stall aborts through it). */
  readonly abort = (reason: unknown): void => this.cancellation.cancel(reason);

  dispose(): void {
    clearTimeout(this.timer);
    this.release?.();
  }
}
