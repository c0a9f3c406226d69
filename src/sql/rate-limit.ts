/**
 * A sliding-window log per key, kept in Postgres so it holds across replicas: at most `limit`
 * hits within `windowMs`. The job submit locks the key's row ({@link lockRecentHitsSql}) inside
 * the transaction that does the work, so concurrent requests for the last slot serialise and
 * exactly one wins, and a request that fails later does not consume a slot.
 */

export interface RateLimitDecision {
  allowed: boolean;
  /** When refused: milliseconds until a slot frees up. */
  retryAfterMs: number;
  remaining: number;
}

/**
 * Locks the key's row and reads its hits within the window, oldest first, with the time of
 * the check: columns `recent` and `now` (`$n` = the key and the window in milliseconds).
 */
export function lockRecentHitsSql(keyParam: string, windowMsParam: string): string {
  return `select array(
              select hit from unnest(hits) as hit
               where hit > now() - make_interval(secs => ${windowMsParam}::double precision / 1000)
               order by hit
            ) as recent,
            now() as now
       from public.rate_limits
      where key = ${keyParam}
      for update`;
}

/**
 * Stores the key's hits: the recent ones, plus this one when allowed (`$n` = the key, the
 * recent hits as read by {@link lockRecentHitsSql}, and whether the hit was allowed).
 */
export function storeHitsSql(keyParam: string, recentParam: string, allowedParam: string): string {
  return `update public.rate_limits
        set hits = case when ${allowedParam} then ${recentParam}::timestamptz[] || now() else ${recentParam}::timestamptz[] end, updated_at = now()
      where key = ${keyParam}`;
}

/** The decision for the hits read by {@link lockRecentHitsSql} (no row: no hits yet). */
export function decideRateLimit(
  read: { recent: Date[]; now: Date } | undefined,
  input: { limit: number; windowMs: number },
): RateLimitDecision & { recent: Date[] } {
  const recent = read?.recent ?? [];
  const now = read?.now ?? new Date();
  const allowed = recent.length < input.limit;
  if (allowed) {
    return { allowed, retryAfterMs: 0, remaining: input.limit - recent.length - 1, recent };
  }
  const oldest = recent[recent.length - input.limit]!;
  return {
    allowed,
    retryAfterMs: Math.max(1, oldest.getTime() + input.windowMs - now.getTime()),
    remaining: 0,
    recent,
  };
}
