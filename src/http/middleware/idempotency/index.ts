import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../../db/types.ts';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
} from '../../../sql/idempotency.ts';
import { HttpError } from '../../http-error.ts';
import { requestFingerprint } from './fingerprint.ts';

export interface IdempotencyOptions {
  db: Db;
  /** Names the operation; part of the request fingerprint. */
  scope: string;
  /** An `in_progress` key older than this is treated as abandoned by a crashed replica. */
  staleMs?: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `Idempotency-Key` per user (IETF httpapi draft, Stripe semantics): the same key and request
 * replay the first response (with `idempotent-replayed: true`); the same key with another
 * request is 422 `idempotency_key_reused`; while the first request is still running, 409
 * `idempotency_in_progress`. Requests are compared by {@link requestFingerprint}, by what they
 * mean rather than their bytes. Only successful responses are kept: after a 4xx or 5xx the key
 * is free again. Requests without the header, and GET, HEAD and OPTIONS, pass through.
 */
export function idempotency({
  db,
  scope,
  staleMs = 60_000,
}: IdempotencyOptions): MiddlewareHandler {
  if (!db) throw new TypeError('idempotency: db is required');
  if (!scope) throw new TypeError('idempotency: scope is required');
  return async function idempotencyMiddleware(c, next) {
    const key = c.req.header('idempotency-key');
    // A safe method changes nothing, so there is nothing to replay: it is always answered fresh.
    if (key === undefined || SAFE_METHODS.has(c.req.method)) {
      await next();
      return;
    }
    if (!KEY_PATTERN.test(key)) {
      throw new HttpError(400, 'invalid_idempotency_key', 'invalid Idempotency-Key', {
        errors: [
          {
            field: 'header.idempotency-key',
            code: 'invalid',
            message: '1 to 255 visible ASCII characters',
          },
        ],
      });
    }
    const userId = c.get('auth').userId;
    const requestHash = await requestFingerprint(c, scope);
    const claim = await claimIdempotencyKey(db, { userId, key, scope, requestHash, staleMs });
    if (claim.state === 'mismatch') {
      throw new HttpError(
        422,
        'idempotency_key_reused',
        'Idempotency-Key reused with a different request',
        {
          detail: 'use a new key for a new request',
        },
      );
    }
    if (claim.state === 'in_progress') {
      throw new HttpError(
        409,
        'idempotency_in_progress',
        'a request with this Idempotency-Key is still in progress',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    if (claim.state === 'replay') {
      return new Response(JSON.stringify(claim.body), {
        status: claim.status,
        headers: {
          'content-type': claim.status >= 400 ? 'application/problem+json' : 'application/json',
          'idempotent-replayed': 'true',
        },
      });
    }
    try {
      await next();
    } catch (error) {
      await releaseIdempotencyKey(db, userId, key).catch(() => {});
      throw error;
    }
    const status = c.res.status;
    // A refused or failed request did nothing, so it leaves nothing either: the client may send
    // it again, fixed or not, under the same key, without a stored refusal or a 422 in the way.
    if (status >= 400) {
      await releaseIdempotencyKey(db, userId, key);
      return;
    }
    const text = await c.res.clone().text();
    let stored: unknown = null;
    try {
      stored = text === '' ? null : JSON.parse(text);
    } catch {
      stored = text;
    }
    await completeIdempotencyKey(db, { userId, key, status, body: stored });
  };
}
