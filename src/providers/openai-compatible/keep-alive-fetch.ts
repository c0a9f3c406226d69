import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';

export interface KeepAliveFetchOptions {
  /** Most open connections per upstream host (default: unbounded, as Node's fetch). */
  maxSockets?: number;
  /** An idle connection is closed after this long, or sooner when the server says so (ms). */
  idleTimeoutMs?: number;
}

/** A `fetch` whose connections can be closed (at shutdown, and by tests). */
export interface KeepAliveFetch {
  fetch: typeof fetch;
  /** Closes the connections once the requests in flight have finished. */
  close(): Promise<void>;
}

/**
 * A `fetch` for the openai SDK over undici's `request()` API with a keep-alive connection pool.
 * Node's built-in fetch runs every call through the WHATWG fetch algorithm and web streams,
 * which costs more CPU than the whole rest of a gateway request; undici's request API does not.
 * This is only the adapter from its answer to the `Response` the SDK expects.
 *
 * - Server-sent events (`text/event-stream`) come back as a streamed body, as from `fetch`.
 * - The caller's AbortSignal aborts the call at any point, the body included; there is no other
 *   timeout (the router bounds each attempt).
 * - Bodies are asked for uncompressed (`accept-encoding: identity`): API answers are small, and
 *   undici's decompress interceptor is still experimental. A compressed answer is an error.
 *   Redirects are not followed (an API answers none).
 * - Anything but a string or byte body (forms, streams, a `Request`) goes to the global `fetch`.
 *
 * @example
 * const transport = createKeepAliveFetch();
 * const client = new OpenAI({ baseURL, apiKey, fetch: transport.fetch });
 */
export function createKeepAliveFetch({
  maxSockets,
  idleTimeoutMs = 15_000,
}: KeepAliveFetchOptions = {}): KeepAliveFetch {
  if (maxSockets !== undefined && (!Number.isInteger(maxSockets) || maxSockets <= 0)) {
    throw new TypeError(
      `keep-alive fetch: maxSockets must be a positive integer, got ${maxSockets}`,
    );
  }
  const dispatcher = new Agent({
    connections: maxSockets ?? null,
    keepAliveTimeout: idleTimeoutMs,
    keepAliveMaxTimeout: idleTimeoutMs,
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  async function keepAliveFetch(input: string | URL | Request, init: RequestInit = {}) {
    const body = init.body;
    if (
      input instanceof Request ||
      (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
    ) {
      return fetch(input, init);
    }
    const url = typeof input === 'string' ? new URL(input) : input;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortError(signal);
    const answer = await dispatcher
      .request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: outgoingHeaders(init.headers),
        body: body ?? null,
        signal,
      })
      .catch((error: unknown) => {
        throw signal?.aborted ? abortError(signal) : error;
      });
    const { statusCode: status } = answer;
    if (status < 200 || status > 599) {
      answer.body.resume();
      throw new Error(`upstream answered with HTTP status ${status}`);
    }
    const encoding = answer.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      answer.body.resume();
      throw new Error(`upstream sent a ${encoding} body although asked for an uncompressed one`);
    }
    const headers = responseHeaders(answer.headers);
    const responseInit = { status, statusText: answer.statusText ?? '', headers };
    if (headers.get('content-type')?.includes('text/event-stream')) {
      return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, responseInit);
    }
    const bytes = Buffer.from(
      await answer.body.arrayBuffer().catch((error: unknown) => {
        throw signal?.aborted ? abortError(signal) : error;
      }),
    );
    return new BufferedResponse(bytes, responseInit);
  }

  return {
    fetch: keepAliveFetch as typeof fetch,
    close: () => dispatcher.close(),
  };
}

/**
 * A complete response held in memory: status and headers as any `Response`, the body read from
 * the buffer without building a web stream (unless `body` is asked for).
 */
class BufferedResponse extends Response {
  override readonly text = async (): Promise<string> => this.bytes.toString('utf8');
  override readonly json = async (): Promise<unknown> => JSON.parse(this.bytes.toString('utf8'));
  override readonly arrayBuffer = async (): Promise<ArrayBuffer> =>
    new Uint8Array(this.bytes).buffer;

  constructor(
    private readonly bytes: Buffer,
    init: ResponseInit,
  ) {
    super(null, init);
    let stream: ReadableStream<Uint8Array> | undefined;
    Object.defineProperty(this, 'body', {
      get: () => {
        stream ??= new Blob([bytes]).stream();
        return stream;
      },
    });
  }
}

function outgoingHeaders(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers !== undefined) copyHeaders(headers, out);
  out['accept-encoding'] = 'identity';
  return out;
}

function copyHeaders(
  headers: NonNullable<RequestInit['headers']>,
  out: Record<string, string>,
): void {
  if (headers instanceof Headers) {
    headers.forEach((value, name) => {
      out[name] = value;
    });
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) out[name!.toLowerCase()] = value!;
  } else {
    for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = String(value);
  }
}

function responseHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
