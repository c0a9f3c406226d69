import type { Queryable } from '../../src/db/types.ts';

/** An `ai_provider_configs` row without its id and timestamps (what rollouts change). */
export interface ProviderRow {
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

const COLUMNS = `provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
  prompt_template_version, metadata`;

/** Every provider row, ordered; with `updated_at` when `withUpdatedAt` (idempotency checks). */
export async function providerRows(
  db: Queryable,
  options: { withUpdatedAt?: boolean } = {},
): Promise<(ProviderRow & { updated_at?: Date })[]> {
  const { rows } = await db.query<ProviderRow & { updated_at?: Date }>(
    `select ${COLUMNS}${options.withUpdatedAt ? ', updated_at' : ''}
       from ai_provider_configs order by environment, provider`,
  );
  return rows;
}

/** The rows of some environments, reduced to what the P0 rollback touches. */
export async function routingState(db: Queryable, environments: string[]) {
  const { rows } = await db.query<{
    provider: string;
    environment: string;
    enabled: boolean;
    is_default: boolean;
    weight: number;
  }>(
    `select provider, environment, enabled, is_default, weight
       from ai_provider_configs where environment = any($1::text[])
      order by environment, provider`,
    [environments],
  );
  return rows;
}

/** Replaces the whole table with `rows` (defaults last, so the one-default rule holds). */
export async function replaceProviderRows(db: Queryable, rows: ProviderRow[]): Promise<void> {
  await db.query('delete from ai_provider_configs');
  for (const row of [...rows].sort((a, b) => Number(a.is_default) - Number(b.is_default))) {
    await db.query(
      `insert into ai_provider_configs (${COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        row.provider,
        row.environment,
        row.enabled,
        row.is_default,
        row.weight,
        row.timeout_ms,
        row.max_retries,
        row.model,
        row.prompt_template_version,
        JSON.stringify(row.metadata),
      ],
    );
  }
}
