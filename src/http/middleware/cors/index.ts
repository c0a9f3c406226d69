import type { MiddlewareHandler } from 'hono';

/** The methods genloop's routes answer to. */
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Request headers the routes read, and those the OpenAI SDKs send from a browser
 * (`dangerouslyAllowBrowser`), whose preflight would fail without them.
 */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'idempotency-key',
  'x-request-id',
  'x-genloop-cache',
  'x-genloop-simulate',
  'openai-organization',
  'openai-project',
  'x-stainless-arch',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
] as const;

/** Response headers a browser client needs to read beyond the CORS-safelisted ones. */
export const CORS_EXPOSE_HEADERS = [
  'x-request-id',
  'retry-after',
  'idempotent-replayed',
  'location',
  'www-authenticate',
  'server-timing',
  'x-genloop-selected-provider',
  'x-genloop-route-strategy',
  'x-genloop-fallback-used',
  'x-genloop-prompt-template-version',
] as const;

export interface CorsOptions {
  /** Exact origins, as browsers send them in `Origin` (`https://app.example.com`). */
  origins: readonly string[];
  allowMethods?: readonly string[];
  allowHeaders?: readonly string[];
  exposeHeaders?: readonly string[];
  /** How long a browser may reuse a preflight answer (seconds). */
  maxAgeSeconds?: number;
}

/**
 * CORS for a fixed list of origins, with credentials. A listed `Origin` is echoed in
 * Access-Control-Allow-Origin (never `*`, which browsers refuse with credentials); any other
 * origin gets no CORS header at all. Preflights (OPTIONS with Access-Control-Request-Method) are
 * answered 204 here, before authentication, since browsers send them without a token.
 *
 * hono/cors is not used: it sends Allow-Credentials and Expose-Headers to every origin, answers
 * an unlisted origin's preflight with the allowed methods and headers, and treats every OPTIONS
 * as a preflight.
 *
 * @example
 * app.use(cors({ origins: ['https://app.example.com'] }));
 */
export function cors({
  origins,
  allowMethods = CORS_ALLOW_METHODS,
  allowHeaders = CORS_ALLOW_HEADERS,
  exposeHeaders = CORS_EXPOSE_HEADERS,
  maxAgeSeconds = 600,
}: CorsOptions): MiddlewareHandler {
  if (origins.length === 0) throw new TypeError('cors: give at least one origin');
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      throw new TypeError(`cors: "${origin}" is not an origin such as https://app.example.com`);
    }
  }
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0 || maxAgeSeconds > 86_400) {
    throw new TypeError(`cors: maxAgeSeconds must be an integer from 0 to 86400`);
  }
  const allowed = new Set(origins);
  const preflightHeaders = {
    'access-control-allow-methods': allowMethods.join(', '),
    'access-control-allow-headers': allowHeaders.join(', '),
    'access-control-max-age': String(maxAgeSeconds),
    'access-control-allow-credentials': 'true',
  };
  const expose = exposeHeaders.join(', ');

  return async function corsMiddleware(c, next) {
    const origin = c.req.header('origin');
    const listed = origin !== undefined && allowed.has(origin);
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method') !== undefined) {
      if (!listed) return c.body(null, 204, { vary: 'Origin' });
      return c.body(null, 204, {
        ...preflightHeaders,
        'access-control-allow-origin': origin,
        vary: 'Origin',
      });
    }
    await next();
    // Set on the finished response, so that error answers (401, 413, ...) carry them too and a
    // browser app can read their problem documents.
    const headers = c.res.headers;
    if (listed) {
      headers.set('access-control-allow-origin', origin);
      headers.set('access-control-allow-credentials', 'true');
      headers.set('access-control-expose-headers', expose);
    }
    // Every answer depends on Origin, so that no cache hands one origin's answer to another.
    const vary = headers.get('vary');
    if (vary === null) headers.set('vary', 'Origin');
    else if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(vary)) headers.append('vary', 'Origin');
  };
}
