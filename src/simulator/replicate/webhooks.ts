import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { toError } from '../../lib/errors.ts';
import type { SimulatorContext } from '../context.ts';
import { randomId } from '../seeded.ts';
import { signWebhook } from '../webhook-signature.ts';

export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed';
export const WEBHOOK_EVENTS: readonly WebhookEvent[] = ['start', 'output', 'logs', 'completed'];

/** One webhook message and what became of it (retries keep the same `webhookId`). */
export interface WebhookDelivery {
  predictionId: string;
  event: WebhookEvent;
  webhookId: string;
  url: string;
  /** The prediction's status in the body. */
  status: string;
  /** One entry per attempt: the HTTP status, or the network error's message. */
  attempts: (number | string)[];
  outcome: 'pending' | 'delivered' | 'failed';
}

export interface WebhookSenderOptions {
  secret: string;
  /** Waits before each retry of a final webhook; default 1, 2, 5, 10 and 20 s (under a minute). */
  retryDelaysMs: readonly number[];
  timeoutMs: number;
}

/**
 * Sends a prediction's webhooks in order, signed per Standard Webhooks. Like Replicate, only the
 * final (`completed`) message is retried on a non-2xx answer or a network error.
 */
export class WebhookSender {
  readonly #context: SimulatorContext;
  readonly #options: WebhookSenderOptions;
  readonly #queues = new Map<string, Promise<void>>();
  #deliveries: WebhookDelivery[] = [];

  constructor(context: SimulatorContext, options: WebhookSenderOptions) {
    this.#context = context;
    this.#options = options;
  }

  get secret(): string {
    return this.#options.secret;
  }

  /**
   * Queues one message with the prediction as it is now. `copies` > 1 sends the same message
   * (same webhook-id) again after the first one is through: the duplicate-webhook fault.
   */
  send(
    url: string,
    predictionId: string,
    event: WebhookEvent,
    prediction: { status: string },
    copies = 1,
  ): void {
    const body = JSON.stringify(prediction);
    const webhookId = `msg_${randomId(27, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}`;
    const previous = this.#queues.get(predictionId) ?? Promise.resolve();
    const next = previous.then(async () => {
      for (let copy = 0; copy < copies; copy += 1) {
        const delivery: WebhookDelivery = {
          predictionId,
          event,
          webhookId,
          url,
          status: prediction.status,
          attempts: [],
          outcome: 'pending',
        };
        this.#deliveries.push(delivery);
        await this.#deliver(delivery, body);
      }
    });
    this.#queues.set(predictionId, next);
    void next.finally(() => {
      if (this.#queues.get(predictionId) === next) this.#queues.delete(predictionId);
    });
  }

  deliveries(): WebhookDelivery[] {
    return this.#deliveries.map((delivery) => ({ ...delivery, attempts: [...delivery.attempts] }));
  }

  clear(): void {
    this.#deliveries = [];
  }

  /** Resolves when every queued message is delivered or given up (close() ends retries early). */
  async idle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.allSettled([...this.#queues.values()]);
  }

  async #deliver(delivery: WebhookDelivery, body: string): Promise<void> {
    const { lifecycle } = this.#context;
    const delays = delivery.event === 'completed' ? this.#options.retryDelaysMs : [];
    for (let attempt = 0; attempt <= delays.length; attempt += 1) {
      if (attempt > 0 && !(await lifecycle.sleep(delays[attempt - 1]!))) break;
      if (lifecycle.closed) break;
      this.#context.stats.webhookAttempts += 1;
      const result = await this.#post(delivery, body);
      delivery.attempts.push(result);
      if (typeof result === 'number' && result >= 200 && result < 300) {
        delivery.outcome = 'delivered';
        return;
      }
    }
    delivery.outcome = 'failed';
    this.#context.logger?.warn(
      {
        webhook_id: delivery.webhookId,
        prediction_id: delivery.predictionId,
        event: delivery.event,
        attempts: delivery.attempts,
      },
      'simulator: webhook not delivered',
    );
  }

  /** One POST; resolves with the status code or the error message, never rejects. */
  #post(delivery: WebhookDelivery, body: string): Promise<number | string> {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'genloop-simulator (replicate webhooks)',
      'webhook-id': delivery.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(this.#options.secret, delivery.webhookId, timestamp, body),
    };
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(delivery.url);
      } catch (error) {
        resolve(toError(error).message);
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      // agent: false — one connection per attempt, so no pooled socket outlives close().
      const outgoing = send(url, {
        method: 'POST',
        headers,
        agent: false,
        timeout: this.#options.timeoutMs,
        signal: this.#context.lifecycle.signal,
      });
      outgoing.on('response', (incoming) => {
        incoming.resume();
        incoming.on('end', () => resolve(incoming.statusCode ?? 0));
        incoming.on('error', (error) => resolve(error.message));
      });
      outgoing.on('timeout', () =>
        outgoing.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)),
      );
      outgoing.on('error', (error) => resolve(error.message));
      outgoing.end(body);
    });
  }
}
