import type { MiddlewareHandler } from 'hono';

/** The policy of every answer that does not bring its own: JSON loads nothing and frames nothing. */
export const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'";

export interface SecurityHeadersOptions {
  /**
   * Path prefixes whose answers pages on other origins may embed (`<img src>`): they get
   * `Cross-Origin-Resource-Policy: cross-origin` instead of `same-origin`.
   */
  crossOriginPrefixes?: readonly string[];
  contentSecurityPolicy?: string;
}

/** The headers every answer gets whatever its path, with the given policy. */
export function commonSecurityHeaders(
  contentSecurityPolicy: string = STRICT_CSP,
): readonly (readonly [string, string])[] {
  return [
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'no-referrer'],
    ['x-frame-options', 'DENY'],
    ['content-security-policy', contentSecurityPolicy],
  ];
}

/**
 * Adds nosniff, no-referrer, DENY framing, a Cross-Origin-Resource-Policy and a strict
 * Content-Security-Policy to every answer, errors and 404s included. A header the route set
 * itself is kept (the API reference page brings the policy it needs to run). Values are built
 * once; a request costs a few header look-ups.
 *
 * Strict-Transport-Security is left to whatever terminates TLS in front of genloop: only it
 * knows whether every subdomain is served over HTTPS.
 */
export function securityHeaders({
  crossOriginPrefixes = [],
  contentSecurityPolicy = STRICT_CSP,
}: SecurityHeadersOptions = {}): MiddlewareHandler {
  for (const prefix of crossOriginPrefixes) {
    if (!prefix.startsWith('/')) {
      throw new TypeError(`securityHeaders: "${prefix}" is not a path prefix (start it with /)`);
    }
  }
  if (/[\r\n]/.test(contentSecurityPolicy)) {
    throw new TypeError('securityHeaders: contentSecurityPolicy must be one line');
  }
  const common = commonSecurityHeaders(contentSecurityPolicy);

  return async function securityHeadersMiddleware(c, next) {
    await next();
    const headers = c.res.headers;
    for (const [name, value] of common) if (!headers.has(name)) headers.set(name, value);
    if (!headers.has('cross-origin-resource-policy')) {
      const path = c.req.path;
      const shared = crossOriginPrefixes.some((prefix) => path.startsWith(prefix));
      headers.set('cross-origin-resource-policy', shared ? 'cross-origin' : 'same-origin');
    }
  };
}
