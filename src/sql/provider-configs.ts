import type { Queryable } from '../db/types.ts';
import { isProviderName, type ProviderName } from '../providers/types.ts';

/** One enabled row of `ai_provider_configs`, as the router uses it. */
export interface ProviderConfig {
  provider: ProviderName;
  environment: string;
  isDefault: boolean;
  weight: number;
  timeoutMs: number;
  maxRetries: number;
  model: string | null;
  promptTemplateVersion: string;
  metadata: Record<string, unknown>;
}

interface ConfigRow {
  provider: string;
  environment: string;
  is_default: boolean;
  weight: number;
  timeout_ms: number;
  max_retries: number;
  model: string | null;
  prompt_template_version: string;
  metadata: Record<string, unknown>;
}

/** The enabled provider configs of one environment, default first. */
export async function selectEnabledProviderConfigs(
  db: Queryable,
  environment: string,
): Promise<ProviderConfig[]> {
  const { rows } = await db.query<ConfigRow>(
    `select provider, environment, is_default, weight, timeout_ms, max_retries, model,
            prompt_template_version, metadata
       from public.ai_provider_configs
      where environment = $1 and enabled
      order by is_default desc, weight desc, provider`,
    [environment],
  );
  return rows
    .filter((row) => isProviderName(row.provider))
    .map((row) => ({
      provider: row.provider as ProviderConfig['provider'],
      environment: row.environment,
      isDefault: row.is_default,
      weight: row.weight,
      timeoutMs: row.timeout_ms,
      maxRetries: row.max_retries,
      model: row.model,
      promptTemplateVersion: row.prompt_template_version,
      metadata: row.metadata ?? {},
    }));
}
