import { signStandardWebhook } from '../../jobs/webhooks/standard-webhooks.ts';
import type { Logger } from '../../lib/logger.ts';
import type { CanaryEvent } from './events.ts';

export interface NotifierOptions {
  logger?: Logger | undefined;
  /** Deliveries waiting at most; when full the oldest is dropped (and said so). */
  maxQueue?: number;
  /** Waits between attempts: one more attempt than there are delays. */
  retryDelaysMs?: readonly number[];
  /** Per attempt. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface Delivery {
  url: string;
  secret: string;
  event: CanaryEvent;
}

/**
 * Posts canary decisions to `--notify` URLs, signed per Standard Webhooks with the run's secret.
 * Fire and forget: `send` only queues (bounded), one delivery goes out at a time in the order the
 * decisions were taken, each retried with backoff on a network error or a non-2xx answer, and a
 * delivery that never got through is logged. Nothing here ever waits on the controller's path.
 */
export class CanaryNotifier {
  readonly #queue: Delivery[] = [];
  readonly #maxQueue: number;
  readonly #delays: readonly number[];
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #abort = new AbortController();

  constructor(options: NotifierOptions = {}) {
    this.#maxQueue = options.maxQueue ?? 100;
    this.#delays = options.retryDelaysMs ?? [1_000, 5_000, 15_000];
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? fetch;
    this.#logger = options.logger;
  }

  /** Queues a decision for the run's URL; does nothing when the run has none. */
  send(target: { url: string | null; secret: string | null }, event: CanaryEvent): void {
    if (this.#closed || !target.url || !target.secret) return;
    if (this.#queue.length >= this.#maxQueue) {
      const dropped = this.#queue.shift()!;
      this.#logger?.warn(
        { url: dropped.url, event: dropped.event.event, log_id: dropped.event.log_id },
        'canary notification dropped: too many waiting',
      );
    }
    this.#queue.push({ url: target.url, secret: target.secret, event });
    this.#running ??= this.#drainQueue().finally(() => {
      this.#running = undefined;
    });
  }

  /** Waits until every queued delivery is done or `timeoutMs` passed; true when none is left. */
  async flush(timeoutMs: number): Promise<boolean> {
    const running = this.#running;
    if (!running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([running.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return done && this.#queue.length === 0;
  }

  /** Stops: what is still queued is dropped (and logged), a delivery in flight is cut short. */
  close(): void {
    this.#closed = true;
    for (const delivery of this.#queue.splice(0)) {
      this.#logger?.warn(
        { url: delivery.url, event: delivery.event.event, log_id: delivery.event.log_id },
        'canary notification not sent: shutting down',
      );
    }
    this.#abort.abort();
  }

  async #drainQueue(): Promise<void> {
    for (let delivery = this.#queue.shift(); delivery; delivery = this.#queue.shift()) {
      await this.#deliver(delivery);
    }
  }

  async #deliver({ url, secret, event }: Delivery): Promise<void> {
    const body = JSON.stringify(event);
    // The id stays the same across attempts: the receiver's key to drop a repeated delivery.
    const id = `canary_${event.run_id}_${event.log_id}`;
    let lastError = '';
    for (let attempt = 0; attempt <= this.#delays.length && !this.#closed; attempt++) {
      if (attempt > 0) await this.#sleep(this.#delays[attempt - 1]!);
      if (this.#closed) break;
      try {
        const response = await this.#fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signStandardWebhook(secret, id, body) },
          body,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]),
          redirect: 'manual',
        });
        await response.body?.cancel().catch(() => {});
        if (response.ok) return;
        lastError = `HTTP ${response.status}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    this.#logger?.warn(
      { url, event: event.event, log_id: event.log_id, error: lastError },
      'canary notification failed',
    );
  }

  #sleep(ms: number): Promise<void> {
    const { signal } = this.#abort;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
