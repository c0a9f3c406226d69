import type { Queryable } from '../db/types.ts';
import { storableJson } from '../lib/storable-text.ts';

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'replay'; status: number; body: unknown }
  | { state: 'mismatch' }
  | { state: 'in_progress' };

/**
 * Claims an Idempotency-Key for a user. The first request inserts the key (`in_progress`); a
 * later one with the same key gets the stored response, a 'mismatch' when its body differs, or
 * 'in_progress' while the first still runs. Expired keys (24 h) and keys abandoned in progress
 * for over `staleMs` (a crashed replica) are taken over.
 */
export async function claimIdempotencyKey(
  db: Queryable,
  input: { userId: string; key: string; scope: string; requestHash: string; staleMs: number },
): Promise<IdempotencyClaim> {
  const inserted = await db.query(
    `insert into public.idempotency_keys (user_id, key, scope, request_hash)
     values ($1, $2, $3, $4)
     on conflict (user_id, key) do nothing`,
    [input.userId, input.key, input.scope, input.requestHash],
  );
  if (inserted.rowCount === 1) return { state: 'new' };
  // Taken by an earlier request; read it in a new statement so its committed row is visible.
  const taken = await db.query(
    `update public.idempotency_keys
        set scope = $3, request_hash = $4, status = 'in_progress', response_status = null,
            response_body = null, created_at = now(), expires_at = now() + interval '24 hours'
      where user_id = $1 and key = $2
        and (expires_at < now()
             or (status = 'in_progress' and created_at < now() - make_interval(secs => $5::double precision / 1000)))`,
    [input.userId, input.key, input.scope, input.requestHash, input.staleMs],
  );
  if (taken.rowCount === 1) return { state: 'new' };
  const { rows } = await db.query<{
    status: string;
    request_hash: string;
    response_status: number | null;
    response_body: unknown;
  }>(
    `select status, request_hash, response_status, response_body
       from public.idempotency_keys where user_id = $1 and key = $2`,
    [input.userId, input.key],
  );
  const row = rows[0];
  // Deleted meanwhile (the first request was refused or failed): this request may go ahead.
  if (!row) return claimIdempotencyKey(db, input);
  if (row.request_hash !== input.requestHash) return { state: 'mismatch' };
  if (row.status === 'in_progress') return { state: 'in_progress' };
  return { state: 'replay', status: row.response_status ?? 200, body: row.response_body };
}

/**
 * Stores the response of the first request so retries replay it. A response can echo what the
 * client sent; text Postgres cannot store is kept as U+FFFD rather than failing the request.
 */
export async function completeIdempotencyKey(
  db: Queryable,
  input: { userId: string; key: string; status: number; body: unknown; resourceId?: string | null },
): Promise<void> {
  await db.query(
    `update public.idempotency_keys
        set status = 'completed', response_status = $3, response_body = $4::jsonb, resource_id = $5
      where user_id = $1 and key = $2`,
    [
      input.userId,
      input.key,
      input.status,
      storableJson(input.body ?? null),
      input.resourceId ?? null,
    ],
  );
}

/** Forgets a key whose request was refused or failed (4xx, 5xx): there is nothing to replay. */
export async function releaseIdempotencyKey(
  db: Queryable,
  userId: string,
  key: string,
): Promise<void> {
  await db.query(
    `delete from public.idempotency_keys where user_id = $1 and key = $2 and status = 'in_progress'`,
    [userId, key],
  );
}

/** Deletes expired keys (run periodically; keys live at least 24 h). */
export async function purgeExpiredIdempotencyKeys(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `delete from public.idempotency_keys where expires_at < now()`,
  );
  return rowCount;
}
