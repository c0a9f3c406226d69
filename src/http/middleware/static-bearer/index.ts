import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from '../../http-error.ts';

export interface StaticBearerOptions {
  /** The one token accepted (`Authorization: Bearer <token>`). */
  token: string;
  /** Named in WWW-Authenticate, so a scraper's operator sees what is asked for. */
  realm?: string;
}

/**
 * Requires one fixed bearer token, for endpoints read by machines rather than users (the
 * Prometheus scrape of /metrics). The comparison takes the same time whatever the candidate, so
 * the token cannot be found byte by byte from response times. 401 `missing_token` or
 * `invalid_token` otherwise.
 */
export function staticBearer({ token, realm = 'genloop' }: StaticBearerOptions): MiddlewareHandler {
  if (typeof token !== 'string' || !/^\S+$/.test(token)) {
    throw new TypeError('staticBearer: token must be a non-empty string without spaces');
  }
  if (!/^[\w .-]+$/.test(realm)) throw new TypeError(`staticBearer: realm "${realm}" is not plain`);
  const expected = digest(token);
  const challenge = `Bearer realm="${realm}"`;

  return async function staticBearerMiddleware(c, next) {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new HttpError(401, 'missing_token', 'authentication required', {
        detail: 'send Authorization: Bearer <token>',
        headers: { 'www-authenticate': challenge },
      });
    }
    // Digests have one length, which timingSafeEqual needs and which hides the token's length.
    if (!timingSafeEqual(digest(match[1]!), expected)) {
      throw new HttpError(401, 'invalid_token', 'invalid token', {
        headers: { 'www-authenticate': `${challenge}, error="invalid_token"` },
      });
    }
    await next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
