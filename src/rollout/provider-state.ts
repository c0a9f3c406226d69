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
