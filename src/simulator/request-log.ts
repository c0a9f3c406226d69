import type { IncomingHttpHeaders } from 'node:http';
import type { SimulatedProvider } from './faults.ts';

/** A request the simulator received, kept so tests can assert on what an SDK sent. */
export interface RecordedRequest {
  /** Order of arrival since the simulator started (survives `reset()`). */
  sequence: number;
  receivedAt: string;
  provider: SimulatedProvider | undefined;
  method: string;
  /** The full path with query string, e.g. `/openai/v1/chat/completions`. */
  path: string;
  /** Headers without the transport noise (host, connection, content-length, accept-encoding). */
  headers: Record<string, string>;
  /** The parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
}

const NOISE = new Set(['host', 'connection', 'content-length', 'accept-encoding', 'keep-alive']);

/** What `add` keeps: the request as received; headers and time are formatted by `list`. */
interface Received {
  sequence: number;
  receivedAt: number;
  provider: SimulatedProvider | undefined;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/**
 * A bounded log of received requests: the oldest entries go first once `limit` is reached. It is
 * a ring, so recording stays O(1) when full, and recording only keeps references: the simulator
 * records every request it serves, and only tests read the log.
 */
export class RequestLog {
  readonly #limit: number;
  #entries: Received[] = [];
  /** Where the oldest entry is once the ring is full. */
  #oldest = 0;
  #sequence = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(entry: {
    provider: SimulatedProvider | undefined;
    method: string;
    path: string;
    headers: IncomingHttpHeaders;
    body: unknown;
  }): void {
    this.#sequence += 1;
    if (this.#limit <= 0) return;
    const received: Received = {
      sequence: this.#sequence,
      receivedAt: Date.now(),
      provider: entry.provider,
      method: entry.method,
      path: entry.path,
      headers: entry.headers,
      body: entry.body,
    };
    if (this.#entries.length < this.#limit) {
      this.#entries.push(received);
    } else {
      this.#entries[this.#oldest] = received;
      this.#oldest = (this.#oldest + 1) % this.#limit;
    }
  }

  list(
    filter: { provider?: SimulatedProvider; method?: string; path?: string | RegExp } = {},
  ): RecordedRequest[] {
    const inOrder =
      this.#oldest === 0
        ? this.#entries
        : [...this.#entries.slice(this.#oldest), ...this.#entries.slice(0, this.#oldest)];
    return inOrder
      .filter(
        (entry) =>
          (filter.provider === undefined || entry.provider === filter.provider) &&
          (filter.method === undefined || entry.method === filter.method.toUpperCase()) &&
          (filter.path === undefined ||
            (typeof filter.path === 'string'
              ? entry.path === filter.path
              : filter.path.test(entry.path))),
      )
      .map(recorded);
  }

  clear(): void {
    this.#entries = [];
    this.#oldest = 0;
  }
}

function recorded(entry: Received): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(entry.headers)) {
    if (value === undefined || NOISE.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    sequence: entry.sequence,
    receivedAt: new Date(entry.receivedAt).toISOString(),
    provider: entry.provider,
    method: entry.method,
    path: entry.path,
    headers,
    body: entry.body,
  };
}
