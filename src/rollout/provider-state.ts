import type { Queryable } from '../db/types.ts';

/** One `ai_provider_configs` row as a rollback saves it into `ai_rollout_log.saved_state`. */
export interface ProviderConfigState {
  provider: string;
  environment: string;
  enabled: boolean;
  is_default: boolean;
  weight: number;
  timeout_ms: number;
  max_retries: number;
  model: string | null;
  prompt_template_version: string;
  metadata: Record<string, unknown>;
}

/**
 * Reads the provider rows of some environments in a stable order; `forUpdate` locks them for the
 * rest of the transaction so nobody changes them between the snapshot and the update.
 */
export async function readProviderState(
  tx: Queryable,
  environments: readonly string[],
  options: { forUpdate?: boolean } = {},
): Promise<ProviderConfigState[]> {
  const { rows } = await tx.query<ProviderConfigState>(
    `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
            prompt_template_version, metadata
       from public.ai_provider_configs
      where environment = any($1::text[])
      order by environment, provider
      ${options.forUpdate ? 'for update' : ''}`,
    [environments],
  );
  return rows;
}

/**
 * Puts saved rows back into the table, in the transaction `tx`: a row deleted since is created
 * again; an existing row gets back `enabled`, `weight` and `is_default`, and with `allColumns`
 * every other config column too (timeout, retries, model, template version, metadata), so it
 * reads exactly as it was saved. Defaults are cleared first and set last, so the one-default and
 * default-is-enabled rules hold after every statement. Rows of `environments` that were not
 * saved are left as they are.
 */
export async function putBackProviderState(
  tx: Queryable,
  environments: readonly string[],
  saved: readonly ProviderConfigState[],
  options: { allColumns?: boolean } = {},
): Promise<void> {
  const savedJson = JSON.stringify(saved);
  await tx.query(
    `update public.ai_provider_configs
        set is_default = false
      where environment = any($1::text[]) and is_default`,
    [environments],
  );
  await tx.query(
    `insert into public.ai_provider_configs as c
       (provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
        prompt_template_version, metadata)
     select s.provider, s.environment, s.enabled, false, s.weight, s.timeout_ms,
            s.max_retries, s.model, s.prompt_template_version, s.metadata
       from jsonb_to_recordset($1::jsonb) as s(
         provider text, environment text, enabled boolean, weight integer,
         timeout_ms integer, max_retries integer, model text,
         prompt_template_version text, metadata jsonb)
     on conflict (provider, environment) do update
       set enabled = excluded.enabled, weight = excluded.weight${
         options.allColumns
           ? `, timeout_ms = excluded.timeout_ms, max_retries = excluded.max_retries,
             model = excluded.model, prompt_template_version = excluded.prompt_template_version,
             metadata = excluded.metadata`
           : ''
       }`,
    [savedJson],
  );
  await tx.query(
    `update public.ai_provider_configs c
        set is_default = true
       from jsonb_to_recordset($1::jsonb) as s(provider text, environment text, is_default boolean)
      where c.provider = s.provider and c.environment = s.environment and s.is_default`,
    [savedJson],
  );
}
