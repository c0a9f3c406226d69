import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { CancelSource } from '../lib/cancellation.ts';
import type { AuthInfo } from './context.ts';

/**
 * One request as a handler needs it, whatever server received it: Hono's app (its routes,
 * `app.request`, everything the fast lane passes on) or the fast lane itself (`lane.ts`), which
 * answers the hottest route on `node:http` directly. A handler written against this runs the
 * same under both, so the two cannot drift apart.
 */
export interface Exchange {
  readonly requestId: string;
  readonly auth: AuthInfo;
  /** Cancelled (or aborted) when the client goes away before the answer is complete. */
  readonly signal: CancelSource;
  /** A request header (name in lower case). */
  header(name: string): string | undefined;
  /** Sets a response header; `append` adds to a list header (`server-timing`) instead. */
  setHeader(name: string, value: string, append?: boolean): void;
}

/** A successful answer: JSON to serialise, JSON bytes as they are, or server-sent events. */
export type Answer =
  | { kind: 'json'; value: unknown }
  | { kind: 'raw-json'; body: string }
  | {
      kind: 'events';
      /** Each item is one event's `data`; the iterator's end closes the stream. */
      events: AsyncIterable<string>;
    };

/** The answer headers of an event stream, on every server genloop runs. */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

/** A Hono context as an {@link Exchange}. */
export function honoExchange(c: Context): Exchange {
  return new HonoExchange(c);
}

/**
 * A class, not an object literal with a getter: a literal with an accessor gets a hidden class
 * of its own each time it is made, kept in the old generation, and that held every request's
 * objects through young-generation collections (all promoted, then freed only by a full one).
 */
class HonoExchange implements Exchange {
  readonly requestId: string;
  readonly auth: AuthInfo;

  constructor(private readonly c: Context) {
    this.requestId = c.get('requestId');
    this.auth = c.get('auth');
  }

  /** The web request's signal, made by the server adapter on first read. */
  get signal(): AbortSignal {
    return this.c.req.raw.signal;
  }

  header(name: string): string | undefined {
    return this.c.req.header(name);
  }

  setHeader(name: string, value: string, append = false): void {
    this.c.header(name, value, { append });
  }
}

/** An {@link Answer} as Hono's response. */
export function honoAnswer(c: Context, answer: Answer): Response {
  if (answer.kind === 'json') return c.json(answer.value as object, 200);
  if (answer.kind === 'raw-json') {
    return c.body(answer.body, 200, { 'content-type': 'application/json' });
  }
  return streamSSE(c, async (sse) => {
    for await (const data of answer.events) await sse.writeSSE({ data });
  });
}
