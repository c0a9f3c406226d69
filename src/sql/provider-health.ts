import type { Queryable } from '../db/types.ts';

export interface ProviderHealthRow {
  provider: string;
  consecutive_failures: number;
  cooldown_until: Date | null;
}

/** Health of every provider of an environment that has failed recently. */
export async function selectProviderHealth(
  db: Queryable,
  environment: string,
): Promise<ProviderHealthRow[]> {
  const { rows } = await db.query<ProviderHealthRow>(
    `select provider, consecutive_failures, cooldown_until
       from public.ai_provider_health
      where environment = $1`,
    [environment],
  );
  return rows;
}

/**
 * Counts one more failed request for a provider; at `threshold` consecutive failures it goes
 * into cooldown for `cooldownMs`. Shared by every replica through this row.
 */
export async function recordProviderFailure(
  db: Queryable,
  input: {
    provider: string;
    environment: string;
    errorClass: string;
    threshold: number;
    cooldownMs: number;
  },
): Promise<ProviderHealthRow> {
  const { rows } = await db.query<ProviderHealthRow>(
    `insert into public.ai_provider_health as h (provider, environment, consecutive_failures, last_error_class, cooldown_until)
     values ($1, $2, 1, $3, case when 1 >= $4 then now() + make_interval(secs => $5::double precision / 1000) end)
     on conflict (provider, environment) do update
       set consecutive_failures = h.consecutive_failures + 1,
           last_error_class = excluded.last_error_class,
           cooldown_until = case
             when h.consecutive_failures + 1 >= $4 then now() + make_interval(secs => $5::double precision / 1000)
             else h.cooldown_until
           end,
           updated_at = now()
     returning provider, consecutive_failures, cooldown_until`,
    [input.provider, input.environment, input.errorClass, input.threshold, input.cooldownMs],
  );
  return rows[0]!;
}

/** A success ends the failure streak and any cooldown. */
export async function recordProviderRecovery(
  db: Queryable,
  provider: string,
  environment: string,
): Promise<void> {
  await db.query(
    `update public.ai_provider_health
        set consecutive_failures = 0, cooldown_until = null, updated_at = now()
      where provider = $1 and environment = $2 and (consecutive_failures > 0 or cooldown_until is not null)`,
    [provider, environment],
  );
}
