import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../../db/types.ts';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
} from '../../../sql/idempotency.ts';
import { HttpError } from '../../http-error.ts';

export interface IdempotencyOptions {
  db: Db;
  /** Names the operation; part of the request fingerprint. */
  scope: string;
  /** An `in_progress` key older than this is treated as abandoned by a crashed replica. */
  staleMs?: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` per user (IETF httpapi draft, Stripe semantics): the same key and body
 * replay the first response (with `idempotent-replayed: true`); the same key with another body
 * is 422 `idempotency_key_reused`; while the first request is still running, 409
 * `idempotency_in_progress`. Responses of 5xx and 429 are not kept, so the client may retry.
 * Requests without the header pass through.
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
    if (key === undefined) {
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
    const body = new Uint8Array(await c.req.arrayBuffer());
    const requestHash = createHash('sha256')
      .update(`${scope}\n${c.req.method} ${c.req.path}\n`)
      .update(body)
      .digest('hex');
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
    if (status >= 500 || status === 429) {
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
