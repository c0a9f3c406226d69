import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

export interface KeepAliveFetchOptions {
  /** Most open connections per upstream host (default: unbounded, as Node's fetch). */
  maxSockets?: number;
  /** An idle connection is closed after this long, or sooner when the server says so (ms). */
  idleTimeoutMs?: number;
}

/** A `fetch` whose connections can be closed (at shutdown, and by tests). */
export interface KeepAliveFetch {
  fetch: typeof fetch;
  /** Closes idle connections; requests in flight finish. */
  close(): void;
}

/**
 * A `fetch` for the openai SDK over `node:http(s)` with a keep-alive agent. Node's built-in
 * fetch runs every call through the WHATWG fetch algorithm and web streams, which costs more
 * CPU than the whole rest of a gateway request; this one writes the request in one syscall,
 * reads a JSON answer into one buffer, and gives the SDK a real `Response` around it.
 *
 * - Server-sent events (`text/event-stream`) come back as a streamed body, as from `fetch`.
 * - The caller's AbortSignal aborts the call at any point, the body included.
 * - gzip, deflate and br bodies are decoded; redirects are not followed (an API answers none).
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
  const agentOptions = {
    keepAlive: true,
    // Reuse the most recently used connection: the rest go idle and time out.
    scheduling: 'lifo' as const,
    timeout: idleTimeoutMs,
    ...(maxSockets === undefined ? {} : { maxSockets }),
  };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);

  function keepAliveFetch(input: string | URL | Request, init: RequestInit = {}) {
    const body = init.body;
    if (
      input instanceof Request ||
      (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))
    ) {
      return fetch(input, init);
    }
    const url = typeof input === 'string' ? new URL(input) : input;
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return fetch(input, init);
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const request = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method ?? 'GET',
        headers: outgoingHeaders(init.headers),
        agent: secure ? https : http,
        ...(signal ? { signal } : {}),
      });
      // `on`, not `once`: an aborted call can report more than one error, and each needs a listener.
      request.on('error', (error) => reject(signal?.aborted ? abortError(signal) : error));
      request.once('response', (message) => {
        const status = message.statusCode ?? 0;
        if (status < 200 || status > 599) {
          message.resume();
          reject(new Error(`upstream answered with HTTP status ${status}`));
          return;
        }
        const headers = responseHeaders(message.rawHeaders);
        const init = { status, statusText: message.statusMessage ?? '', headers };
        const decoded = decode(message);
        if (headers.get('content-type')?.includes('text/event-stream')) {
          resolve(new Response(Readable.toWeb(decoded) as ReadableStream<Uint8Array>, init));
          return;
        }
        const chunks: Buffer[] = [];
        decoded.on('data', (chunk: Buffer) => chunks.push(chunk));
        decoded.once('end', () =>
          resolve(
            new BufferedResponse(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), init),
          ),
        );
        decoded.on('error', (error) => reject(signal?.aborted ? abortError(signal) : error));
        message.once('close', () => {
          if (!message.complete) reject(new Error('upstream closed the connection mid-body'));
        });
      });
      request.end(body ?? undefined);
    });
  }

  return {
    fetch: keepAliveFetch as typeof fetch,
    close() {
      http.destroy();
      https.destroy();
    },
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
  if (headers === undefined) return out;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => {
      out[name] = value;
    });
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) out[name!.toLowerCase()] = value!;
  } else {
    for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = String(value);
  }
  return out;
}

function responseHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let index = 0; index < raw.length; index += 2) headers.append(raw[index]!, raw[index + 1]!);
  return headers;
}

function decode(message: IncomingMessage): Readable {
  const encoding = message.headers['content-encoding']?.trim().toLowerCase();
  let decoder: Transform | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = createGunzip();
  else if (encoding === 'deflate') decoder = createInflate();
  else if (encoding === 'br') decoder = createBrotliDecompress();
  if (!decoder) return message;
  message.once('error', (error) => decoder.destroy(error));
  return message.pipe(decoder);
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
