import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../../db/types.ts';
import { readIdempotencyKey, updateIdempotencyResponse } from '../../../sql/idempotency.ts';
import { HttpError } from '../../http-error.ts';
import { canonicalJson, requestFingerprint } from './fingerprint.ts';
import { HeldKey, keyInProgress, keyReused, type StoredResponse, withHeldKey } from './held-key.ts';

export { HeldKey, heldIdempotencyKey } from './held-key.ts';

export interface IdempotencyOptions {
  db: Db;
  /** Names the operation; part of the request fingerprint. */
  scope: string;
  /**
   * A key committed `in_progress` (by a replica of the earlier release, which claimed keys before
   * running) is treated as abandoned after this long.
   */
  staleMs?: number;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `Idempotency-Key` per user (IETF httpapi draft, Stripe semantics): the same key and request
 * replay the first response (with `idempotent-replayed: true`); the same key with another
 * request is 422 `idempotency_key_reused`; while the first request is still running, 409
 * `idempotency_in_progress`. Requests are compared by {@link requestFingerprint}, by what they
 * mean rather than their bytes. Requests without the header, and GET, HEAD and OPTIONS, pass
 * through.
 *
 * The key is recorded in the transaction that performs the request's effect (the submission
 * takes {@link heldIdempotencyKey}), so it exists exactly when the effect does: a refused or
 * failed request leaves no key, and one that dies mid-way leaves its key free for the retry.
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
    const input = { userId, key, scope, requestHash, staleMs };
    // Answered before the route does any work (stores uploads, counts limits) when it can be.
    const seen = await readIdempotencyKey(db, input);
    if (seen.state === 'mismatch') throw keyReused();
    if (seen.state === 'in_progress') throw keyInProgress();
    if (seen.state === 'replay') return replayed(seen);

    const held = new HeldKey(input);
    await withHeldKey(held, next);
    // The key was recorded by a request that finished while this one ran; this one rolled back.
    if (held.replay) {
      c.res = undefined;
      c.res = replayed(held.replay);
      return;
    }
    const status = c.res.status;
    // Nothing to keep: a refused or failed submission rolled the key back with everything else.
    if (status >= 400) return;
    const answered: StoredResponse = { status, body: await bodyOf(c.res) };
    if (!held.settled) {
      // A route whose effect did not take the key: recorded after the fact, as well as can be.
      await held.record(db, answered);
    } else if (!sameResponse(held.settled, answered)) {
      await updateIdempotencyResponse(db, { userId, key, ...answered });
    }
  };
}

function replayed({ status, body }: StoredResponse): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      'idempotent-replayed': 'true',
    },
  });
}

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.clone().text();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function sameResponse(a: StoredResponse, b: StoredResponse): boolean {
  return a.status === b.status && canonicalJson(a.body) === canonicalJson(b.body);
}
