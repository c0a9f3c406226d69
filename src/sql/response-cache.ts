import type { Queryable } from '../db/types.ts';

/** A live entry of the gateway's exact cache. */
export interface CachedAnswer {
  provider: string;
  model: string | null;
  response: unknown;
}

/**
 * The live entry under `key`, if any: one primary-key probe. An expired row is ignored here and
 * deleted by `genloop db prune`, so a lookup never writes.
 */
export async function selectCachedAnswer(
  db: Queryable,
  key: string,
): Promise<CachedAnswer | undefined> {
  const { rows } = await db.query<CachedAnswer>(
    `select provider, model, response from public.ai_response_cache
      where cache_key = $1 and expires_at > now()`,
    [key],
  );
  return rows[0];
}

/** Stores (or refreshes) an entry that lives `ttlMs` from now. */
export async function upsertCachedAnswer(
  db: Queryable,
  entry: {
    key: string;
    recipe: string;
    scope: string;
    requestHash: string;
    provider: string;
    model: string | null;
    response: unknown;
    ttlMs: number;
  },
): Promise<void> {
  await db.query(
    `insert into public.ai_response_cache
       (cache_key, recipe, scope, request_hash, provider, model, response, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb,
             now() + make_interval(secs => $8::double precision / 1000))
     on conflict (cache_key) do update
       set provider = excluded.provider, model = excluded.model, response = excluded.response,
           created_at = now(), expires_at = excluded.expires_at`,
    [
      entry.key,
      entry.recipe,
      entry.scope,
      entry.requestHash,
      entry.provider,
      entry.model,
      JSON.stringify(entry.response),
      entry.ttlMs,
    ],
  );
}

/**
 * Deletes up to `batchSize` expired entries (of every cache that uses the table), oldest expiry
 * first, skipping rows another transaction holds. Returns how many went.
 */
export async function deleteExpiredAnswersBatch(db: Queryable, batchSize: number): Promise<number> {
  const { rows } = await db.query<{ deleted: number }>(
    `with doomed as (
       select cache_key from public.ai_response_cache
        where expires_at <= now()
        order by expires_at
        limit $1
        for update skip locked
     ),
     deleted as (
       delete from public.ai_response_cache c using doomed d
        where c.cache_key = d.cache_key
       returning 1
     )
     select count(*)::int as deleted from deleted`,
    [batchSize],
  );
  return rows[0]!.deleted;
}

/** How many entries have expired (what a prune would delete). */
export async function countExpiredAnswers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ expired: number }>(
    'select count(*)::int as expired from public.ai_response_cache where expires_at <= now()',
  );
  return rows[0]!.expired;
}

/** Deletes every expired entry in batches of `batchSize`; returns how many went. */
export async function purgeExpiredAnswers(db: Queryable, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteExpiredAnswersBatch(db, batchSize);
    total += deleted;
    if (deleted === 0) return total;
  }
}
