/**
 * A cancellation that costs almost nothing until it is used: a flag, a reason and a short list
 * of callbacks. A gateway call needs one per request (the client leaving) and one per provider
 * attempt (its timeout or the caller's cancellation); as `AbortController`s with event listeners
 * those two were a measurable share of a call's CPU, and nearly always went unused.
 *
 * Code that must hand an `AbortSignal` to an API that takes one (an SDK, `fetch`, a stream)
 * reads {@link Cancellation.signal}, which is made on first read and follows this cancellation.
 */
export class Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<(reason: unknown) => void> | undefined;
  private controller: AbortController | undefined;

  /** Cancels once, with `reason`; later calls do nothing. */
  cancel(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const { listeners } = this;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  /**
   * Calls `listener` once, with the reason, when this is cancelled (at once if it already is);
   * returns the function that removes it.
   */
  onCancel(listener: (reason: unknown) => void): () => void {
    if (this.aborted) {
      listener(this.reason);
      return noop;
    }
    this.listeners ??= [];
    this.listeners.push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index !== -1) this.listeners!.splice(index, 1);
    };
  }

  /** This cancellation as an `AbortSignal`, made on first read. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

/** What a call can be cancelled by: a {@link Cancellation}, or a standard `AbortSignal`. */
export type CancelSource = Cancellation | AbortSignal;

/**
 * Calls `listener` once when `source` is cancelled or aborted (at once if it already is);
 * returns the function that removes it.
 */
export function onCancel(source: CancelSource, listener: (reason: unknown) => void): () => void {
  if (source instanceof Cancellation) return source.onCancel(listener);
  if (source.aborted) {
    listener(source.reason);
    return noop;
  }
  const onAbort = () => listener(source.reason);
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
}

/** `source` as an `AbortSignal`, for APIs that take one. */
export function abortSignalOf(source: CancelSource): AbortSignal {
  return source instanceof Cancellation ? source.signal : source;
}

function noop(): void {}
