import type { Queryable } from '../db/types.ts';

export interface RateLimitDecision {
  allowed: boolean;
  /** When refused: milliseconds until a slot frees up. */
  retryAfterMs: number;
  remaining: number;
}

/**
 * A sliding-window log per key, kept in Postgres so it holds across replicas: at most `limit`
 * hits within `windowMs`. The key's row is locked for the check, so concurrent requests for the
 * last slot serialise and exactly one wins. Call inside the transaction that does the work, so a
 * request that fails later does not consume a slot.
 */
export async function takeRateLimitSlot(
  db: Queryable,
  input: { key: string; limit: number; windowMs: number },
): Promise<RateLimitDecision> {
  await db.query(`insert into public.rate_limits (key) values ($1) on conflict (key) do nothing`, [
    input.key,
  ]);
  const { rows } = await db.query<{ recent: Date[]; now: Date }>(
    `select array(
              select hit from unnest(hits) as hit
               where hit > now() - make_interval(secs => $2::double precision / 1000)
               order by hit
            ) as recent,
            now() as now
       from public.rate_limits
      where key = $1
      for update`,
    [input.key, input.windowMs],
  );
  const recent = rows[0]?.recent ?? [];
  const now = rows[0]?.now ?? new Date();
  const allowed = recent.length < input.limit;
  await db.query(
    `update public.rate_limits
        set hits = case when $3 then $2::timestamptz[] || now() else $2::timestamptz[] end, updated_at = now()
      where key = $1`,
    [input.key, recent, allowed],
  );
  if (allowed) return { allowed, retryAfterMs: 0, remaining: input.limit - recent.length - 1 };
  const oldest = recent[recent.length - input.limit]!;
  return {
    allowed,
    retryAfterMs: Math.max(1, oldest.getTime() + input.windowMs - now.getTime()),
    remaining: 0,
  };
}
