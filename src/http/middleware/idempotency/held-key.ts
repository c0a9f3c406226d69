import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db, Queryable } from '../../../db/types.ts';
import { lockIdempotencyKey, recordIdempotencyKey } from '../../../sql/idempotency.ts';
import { HttpError } from '../../http-error.ts';

export interface HeldKeyInput {
  userId: string;
  key: string;
  scope: string;
  requestHash: string;
  staleMs: number;
}

/** A response to replay, or the one a request recorded with its effect. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

export const keyInProgress = () =>
  new HttpError(
    409,
    'idempotency_in_progress',
    'a request with this Idempotency-Key is still in progress',
    {
      headers: { 'retry-after': '1' },
    },
  );

export const keyReused = () =>
  new HttpError(422, 'idempotency_key_reused', 'Idempotency-Key reused with a different request', {
    detail: 'use a new key for a new request',
  });

/**
 * The Idempotency-Key of the request being handled, for the transaction that performs its
 * effect: {@link HeldKey.take} as its first statement, {@link HeldKey.settle} as its last. The
 * key then commits with the effect or vanishes with it, and is held (by a transaction lock) only
 * while that transaction runs.
 */
export class HeldKey {
  /** A response already recorded under the key, found once the key could be taken. */
  replay: StoredResponse | undefined;
  /** What {@link settle} recorded, so the middleware can tell whether the route answered so. */
  settled: StoredResponse | undefined;

  constructor(private readonly input: HeldKeyInput) {}

  /** Takes the key in `tx`, or throws 409 (held by a running request) or 422 (another request). */
  async take(tx: Queryable): Promise<void> {
    const found = await lockIdempotencyKey(tx, this.input);
    if (found.state === 'free') return;
    if (found.state === 'mismatch') throw keyReused();
    if (found.state === 'replay') this.replay = { status: found.status, body: found.body };
    // For a replay the middleware answers with the stored response instead; throwing rolls back
    // whatever the transaction has done so far.
    throw keyInProgress();
  }

  /** Records the response retries replay, in the same transaction as the effect. */
  async settle(tx: Queryable, response: StoredResponse & { resourceId?: string }): Promise<void> {
    const recorded = await recordIdempotencyKey(tx, { ...this.input, ...response });
    // A request with the key committed a moment ago: this one rolls back and its retry replays.
    if (!recorded) throw keyInProgress();
    this.settled = { status: response.status, body: response.body };
  }

  /** Records a response after the fact, for a route that did not settle the key itself. */
  async record(db: Db, response: StoredResponse): Promise<void> {
    await recordIdempotencyKey(db, { ...this.input, ...response });
  }
}

const current = new AsyncLocalStorage<HeldKey>();

/** Runs `fn` (the rest of the request) with `key` as the request's held key. */
export function withHeldKey<T>(key: HeldKey, fn: () => Promise<T>): Promise<T> {
  return current.run(key, fn);
}

/**
 * The Idempotency-Key of the request being handled, if it sent one. The key reaches the
 * submission through the request's async context, since the routes in between have no reason to
 * carry it.
 */
export function heldIdempotencyKey(): HeldKey | undefined {
  return current.getStore();
}
