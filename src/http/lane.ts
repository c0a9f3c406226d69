import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { Cancellation } from '../lib/cancellation.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { isUuid, newId } from '../lib/uuid.ts';
import type { AuthInfo } from './context.ts';
import { httpErrorFor } from './error-handler.ts';
import { type Answer, EVENT_STREAM_HEADERS, type Exchange } from './exchange.ts';
import type { Authenticator } from './middleware/auth/index.ts';
import { isJsonContentType, payloadTooLarge } from './middleware/body-limit/index.ts';
import { openAIErrorObject } from './middleware/openai-errors/index.ts';
import { commonSecurityHeaders } from './middleware/security-headers/index.ts';
import {
  STRICT_JSON_TYPE,
  strictJsonText,
  unsupportedMediaType,
} from './middleware/strict-json/index.ts';
import { fieldErrors, validationFailed } from './validation.ts';

/** One route a lane answers: a JSON `POST` on an OpenAI-compatible path. */
export interface LaneRoute<T> {
  path: string;
  schema: z.ZodType<T>;
  handle(exchange: Exchange, body: T): Promise<Answer>;
}

export interface LaneOptions<T> {
  route: LaneRoute<T>;
  /** The same authenticator (and token cache) as the Hono app's on this path. */
  authenticate: Authenticator;
  logger: Logger;
  metrics?: Metrics | undefined;
  jsonLimitBytes: number;
  bodyLimitBytes: number;
  /** With CORS configured, a request carrying `Origin` goes to Hono, which owns CORS. */
  corsOrigins: readonly string[];
}

/** Tells the server whether the lane took the request; if not, Hono answers it. */
export type Lane = (request: IncomingMessage, response: ServerResponse) => boolean;

/**
 * The content types the OpenAPI routes' media-type gate lets through to the JSON validator: a
 * JSON type whose parameters are all `name=value` (`application/json ; charset=utf-8`, with the
 * space, passes the strict-JSON check but not this one).
 */
const OPENAPI_JSON_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

const SECURITY_HEADERS = [
  ...commonSecurityHeaders(),
  ['cross-origin-resource-policy', 'same-origin'],
] as const;

/**
 * A fast lane for one hot route, on `node:http` itself: the request goes through the same steps
 * as on the Hono app (request id, body limit, bearer auth, strict JSON, the zod schema, the
 * shared handler, problem+json errors with OpenAI's `error` object, security headers, the
 * access log line and the HTTP metrics) in one pass, with the response headers kept as a plain
 * object and written once. It exists because the framework's per-request objects (a web
 * Request and Response, Headers, the middleware chain) are a measurable share of a gateway
 * call's CPU: answering here costs 8–15% less per call. Anything else about the request (another path or method, a query
 * string, a cross-origin call when CORS is on) is left to Hono, which stays the one place for
 * every other route and for the OpenAPI document.
 */
export function createLane<T>({
  route,
  authenticate,
  logger,
  metrics,
  jsonLimitBytes,
  bodyLimitBytes,
  corsOrigins,
}: LaneOptions<T>): Lane {
  const corsOn = corsOrigins.length > 0;
  const metricLabels = { method: 'POST', route: route.path };

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const incomingId = request.headers['x-request-id'];
    const requestId =
      typeof incomingId === 'string' && isUuid(incomingId) ? incomingId.toLowerCase() : newId();
    const headers: Record<string, string> = { 'x-request-id': requestId };
    let auth: AuthInfo | undefined;
    let status = 200;
    let events: AsyncIterable<string> | undefined;
    let body: string;
    try {
      const type = request.headers['content-type'];
      const limit = isJsonContentType(type) ? jsonLimitBytes : bodyLimitBytes;
      const length = request.headers['content-length'];
      const chunked = request.headers['transfer-encoding'] !== undefined;
      if (!chunked && length !== undefined && Number.parseInt(length, 10) > limit) {
        throw payloadTooLarge(limit);
      }
      const verified = authenticate(request.headers.authorization);
      auth = verified instanceof Promise ? await verified : verified;
      if (type === undefined || !STRICT_JSON_TYPE.test(type)) throw unsupportedMediaType();
      const text = strictJsonText(await readBody(request, limit));
      if (!OPENAPI_JSON_TYPE.test(type)) throw unsupportedMediaType();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // What Hono's JSON validator throws, so that both servers answer it alike.
        throw new HTTPException(400, { message: 'Malformed JSON in request body' });
      }
      const parsed = route.schema.safeParse(value);
      if (!parsed.success) throw validationFailed(fieldErrors(parsed.error, 'json'));
      const answer = await route.handle(
        new LaneExchange(request, response, requestId, auth, headers),
        parsed.data,
      );
      if (answer.kind === 'events') {
        Object.assign(headers, EVENT_STREAM_HEADERS);
        events = answer.events;
        body = '';
      } else {
        headers['content-type'] = 'application/json';
        body = answer.kind === 'json' ? JSON.stringify(answer.value) : answer.body;
      }
    } catch (error) {
      if (error instanceof ClientGone) {
        response.destroy();
        return;
      }
      const httpError = httpErrorFor(error, logger, requestId);
      const problem = httpError.toProblem(requestId);
      status = problem.status;
      // Headers the handler set before it failed belong to an answer that was not given.
      for (const name of Object.keys(headers)) if (name !== 'x-request-id') delete headers[name];
      headers['content-type'] = 'application/problem+json';
      Object.assign(headers, httpError.headers);
      body = JSON.stringify({ ...problem, error: openAIErrorObject(problem) });
    }
    for (const [name, value] of SECURITY_HEADERS) headers[name] ??= value;
    if (events === undefined) headers['content-length'] = String(Buffer.byteLength(body));
    response.writeHead(status, headers);
    observe(status, started, requestId, auth);
    if (events === undefined) response.end(body);
    else await sendEvents(response, events);
  }

  function observe(status: number, started: number, requestId: string, auth?: AuthInfo): void {
    const seconds = (performance.now() - started) / 1000;
    if (metrics) {
      metrics.httpRequests.count({ ...metricLabels, status: String(status) });
      metrics.httpDuration.observe(metricLabels, seconds);
    }
    // Level checked first: below info (production setups often log warn) nothing is built.
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      {
        request_id: requestId,
        method: 'POST',
        path: route.path,
        status,
        duration_ms: Math.round(seconds * 100_000) / 100,
        ...(auth?.userId ? { user_id: auth.userId } : {}),
      },
      'request',
    );
  }

  return function lane(request, response) {
    if (request.method !== 'POST' || request.url !== route.path) return false;
    if (corsOn && request.headers.origin !== undefined) return false;
    serve(request, response).catch((error) => {
      // Only an answer that failed after its head was sent gets here (a stream's end, say):
      // the errors before it are answered above. The client sees the connection close.
      logger.error({ err: error }, 'fast lane: the answer failed after it had started');
      response.destroy();
    });
    return true;
  };
}

/** The server's listener: the lanes first, then `fallback` (Hono) for what none of them takes. */
export function withLanes(lanes: readonly Lane[], fallback: RequestListener): RequestListener {
  if (lanes.length === 0) return fallback;
  return (request, response) => {
    for (const lane of lanes) if (lane(request, response)) return;
    fallback(request, response);
  };
}

/** The lane's {@link Exchange}: a class, not a literal with a getter (see `attemptSignal`). */
class LaneExchange implements Exchange {
  private cancellation: Cancellation | undefined;

  constructor(
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    readonly requestId: string,
    readonly auth: AuthInfo,
    private readonly headers: Record<string, string>,
  ) {}

  /** Made when first asked for: one per request, cancelled when the client leaves early. */
  get signal(): Cancellation {
    if (this.cancellation === undefined) {
      const made = new Cancellation();
      this.cancellation = made;
      const { response } = this;
      response.once('close', () => {
        // An AbortError, as a web request's signal gives: the attempt is recorded as aborted,
        // the route stops there, and no provider is blamed for it.
        if (!response.writableFinished) {
          made.cancel(new DOMException('the client went away', 'AbortError'));
        }
      });
    }
    return this.cancellation;
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  setHeader(name: string, value: string, append = false): void {
    const previous = this.headers[name];
    this.headers[name] = append && previous !== undefined ? `${previous}, ${value}` : value;
  }
}

/** The body, refused with a 413 as soon as it passes `limit` bytes. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // The rest is read and dropped so that the connection can carry the 413.
        request.resume();
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onGone = () => {
      cleanup();
      reject(new ClientGone());
    };
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onGone);
      request.off('aborted', onGone);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onGone);
    request.on('aborted', onGone);
  });
}

/**
 * Writes each event as it comes, waiting for the socket when it is full. A client that left is
 * not written to, but the events are still read to their end: the handler records the
 * generation after the last one.
 */
async function sendEvents(response: ServerResponse, events: AsyncIterable<string>): Promise<void> {
  for await (const data of events) {
    if (response.destroyed) continue;
    if (!response.write(`data: ${data}\n\n`)) await drained(response);
  }
  if (!response.destroyed) response.end();
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** The request's body stopped arriving: there is no one to answer. */
class ClientGone extends Error {}
