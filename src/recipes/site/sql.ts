import type { Queryable } from '../../db/types.ts';

export interface CachedResponse {
  provider: string;
  model: string | null;
  response: { value: unknown; promptTemplateVersion: string; routeStrategy: string };
}

/** A live cache entry for `key`, if any. */
export async function readCachedResponse(
  db: Queryable,
  key: string,
): Promise<CachedResponse | undefined> {
  const { rows } = await db.query<CachedResponse>(
    `select provider, model, response from public.ai_response_cache where cache_key = $1 and expires_at > now()`,
    [key],
  );
  return rows[0];
}

/**
 * Stores (or refreshes) an entry that lives `ttlMs`; `scope` and `requestHash` are set for
 * entries asked for with `x-genloop-cache` (kept per caller or global), not for the brief cache.
 */
export async function writeCachedResponse(
  db: Queryable,
  input: {
    key: string;
    recipe: string;
    provider: string;
    model: string | null;
    response: CachedResponse['response'];
    ttlMs: number;
    scope?: string | undefined;
    requestHash?: string | undefined;
  },
): Promise<void> {
  await db.query(
    `insert into public.ai_response_cache
       (cache_key, recipe, provider, model, response, expires_at, scope, request_hash)
     values ($1, $2, $3, $4, $5::jsonb, now() + make_interval(secs => $6::double precision / 1000),
             $7, $8)
     on conflict (cache_key) do update
       set provider = excluded.provider, model = excluded.model, response = excluded.response,
           created_at = now(), expires_at = excluded.expires_at`,
    [
      input.key,
      input.recipe,
      input.provider,
      input.model,
      JSON.stringify(input.response),
      input.ttlMs,
      input.scope ?? null,
      input.requestHash ?? null,
    ],
  );
}

/** Removes expired entries; returns how many. */
export async function purgeExpiredResponses(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    'delete from public.ai_response_cache where expires_at <= now()',
  );
  return rowCount;
}
