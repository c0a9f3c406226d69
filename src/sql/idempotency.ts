import type { Queryable } from '../db/types.ts';
import { storableJson } from '../lib/storable-text.ts';

/** What an Idempotency-Key already stands for, as a request with it sees the table. */
export type IdempotencyState =
  | { state: 'free' }
  | { state: 'replay'; status: number; body: unknown }
  | { state: 'mismatch' }
  | { state: 'in_progress' };

interface KeyInput {
  userId: string;
  key: string;
  requestHash: string;
  /** A committed `in_progress` row older than this is abandoned (see {@link readIdempotencyKey}). */
  staleMs: number;
}

interface KeyRow {
  status: string;
  request_hash: string;
  response_status: number | null;
  response_body: unknown;
  running: boolean;
}

// A live key's row, read beside what the statement does first (the try-lock on `$3`, or nothing).
const readKeySql = (first: string) =>
  `select ${first}, k.status, k.request_hash, k.response_status, k.response_body,
          k.created_at >= now() - make_interval(secs => $4::double precision / 1000) as running
     from (values (1)) as one (x)
     left join public.idempotency_keys k
       on k.user_id = $1 and k.key = $2 and k.expires_at >= now()`;

function stateOf(row: Partial<KeyRow> | undefined, requestHash: string): IdempotencyState {
  if (!row?.status) return { state: 'free' };
  if (row.request_hash !== requestHash) return { state: 'mismatch' };
  if (row.status === 'completed') {
    return { state: 'replay', status: row.response_status ?? 200, body: row.response_body };
  }
  // Keys are only ever committed `completed` now; an `in_progress` one was written by a replica
  // of the earlier release, which committed it before running. It blocks only while it is young.
  return row.running ? { state: 'in_progress' } : { state: 'free' };
}

/**
 * Reads what a key stands for without taking it: a cheap look before the request does any work,
 * so a replay or a reused key is answered before bodies are stored or limits are counted.
 */
export async function readIdempotencyKey(
  db: Queryable,
  input: KeyInput,
): Promise<IdempotencyState> {
  const { rows } = await db.query<KeyRow>(readKeySql('$3::text is null as held'), [
    input.userId,
    input.key,
    null,
    input.staleMs,
  ]);
  return stateOf(rows[0], input.requestHash);
}

/**
 * Takes a key inside the transaction that performs the request's effect. The claim is a
 * transaction-level advisory lock, not a status: it ends with the transaction, so a request that
 * dies (process killed, connection dropped, pooler restarted) rolls back and leaves the key free
 * for its retry at once, and nothing depends on session state a transaction-mode pooler drops.
 * `running` means another request holds the key right now; otherwise the key's committed state.
 *
 * The lock and the read share a statement, whose snapshot can predate the lock by a moment: a
 * request that committed the key in that moment is missed here, and {@link recordIdempotencyKey}
 * refuses the duplicate instead (the unique key decides).
 */
export async function lockIdempotencyKey(
  tx: Queryable,
  input: KeyInput,
): Promise<IdempotencyState | { state: 'running' }> {
  // The user id is a uuid of fixed length, so `user:key` cannot collide across users.
  const { rows } = await tx.query<KeyRow & { held: boolean }>(
    readKeySql('pg_try_advisory_xact_lock(hashtextextended($3, 0)) as held'),
    [input.userId, input.key, `genloop:idempotency:${input.userId}:${input.key}`, input.staleMs],
  );
  const row = rows[0]!;
  if (!row.held) return { state: 'running' };
  return stateOf(row, input.requestHash);
}

/**
 * Writes a taken key with the response retries replay, in the transaction of the effect, so the
 * two commit or vanish together. Returns false when a committed key is in the way (a request that
 * finished between {@link lockIdempotencyKey}'s snapshot and its lock): the caller rolls back.
 * Expired keys, and abandoned `in_progress` ones, are overwritten. A response can echo what the
 * client sent; text Postgres cannot store is kept as U+FFFD rather than failing the request.
 */
export async function recordIdempotencyKey(
  tx: Queryable,
  input: KeyInput & {
    scope: string;
    status: number;
    body: unknown;
    resourceId?: string | null;
  },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `insert into public.idempotency_keys
       (user_id, key, scope, request_hash, status, response_status, response_body, resource_id)
     values ($1, $2, $3, $4, 'completed', $5, $6::jsonb, $7)
     on conflict (user_id, key) do update
        set scope = excluded.scope, request_hash = excluded.request_hash, status = 'completed',
            response_status = excluded.response_status, response_body = excluded.response_body,
            resource_id = excluded.resource_id, created_at = now(),
            expires_at = now() + interval '24 hours'
      where idempotency_keys.expires_at < now()
         or (idempotency_keys.status = 'in_progress'
             and idempotency_keys.created_at < now() - make_interval(secs => $8::double precision / 1000))`,
    [
      input.userId,
      input.key,
      input.scope,
      input.requestHash,
      input.status,
      storableJson(input.body ?? null),
      input.resourceId ?? null,
      input.staleMs,
    ],
  );
  return rowCount === 1;
}

/** Replaces the stored response of a recorded key (when the route answered otherwise). */
export async function updateIdempotencyResponse(
  db: Queryable,
  input: { userId: string; key: string; status: number; body: unknown },
): Promise<void> {
  await db.query(
    `update public.idempotency_keys set response_status = $3, response_body = $4::jsonb
      where user_id = $1 and key = $2 and status = 'completed'`,
    [input.userId, input.key, input.status, storableJson(input.body ?? null)],
  );
}

/** Deletes expired keys (run periodically; keys live at least 24 h). */
export async function purgeExpiredIdempotencyKeys(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `delete from public.idempotency_keys where expires_at < now()`,
  );
  return rowCount;
}
