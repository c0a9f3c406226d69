/**
 * The SQL of the Phase 2 rollout runbook (docs/runbook.md), kept character for character as
 * operators paste it, so the output of `genloop rollout verify` is the output an operator would
 * get in the SQL editor.
 */

/** Runbook "0.3 Verify": every provider row of the single database. */
export const SINGLE_DB_PROVIDERS = `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries
from public.ai_provider_configs
order by environment, provider;`;

/** Runbook "0.3 Verify": expected prod_default_count = 1 and non_prod_enabled_count = 0. */
export const SINGLE_DB_COUNTS = `select
  count(*) filter (where environment = 'prod' and is_default = true) as prod_default_count,
  count(*) filter (where environment <> 'prod' and enabled = true) as non_prod_enabled_count
from public.ai_provider_configs;`;

/** Runbook "0.3 Verify" and "1.4 Verify staging": the three eval objects (null when missing). */
export const EVAL_OBJECTS = `select
  to_regclass('public.ai_eval_runs') as ai_eval_runs,
  to_regclass('public.ai_eval_samples') as ai_eval_samples,
  to_regclass('public.ai_eval_run_summary_v1') as ai_eval_run_summary_v1;`;

/** Runbook "1.1 Preflight": the tables the rollout needs. */
export const PREFLIGHT_TABLES = `select
  table_name
from information_schema.tables
where table_schema = 'public'
  and table_name in (
    'ai_training_examples',
    'ai_provider_configs',
    'ai_eval_runs',
    'ai_eval_samples'
  )
order by table_name;`;

/** Runbook "1.1 Preflight": their columns. */
export const PREFLIGHT_COLUMNS = `select
  table_name,
  column_name,
  data_type
from information_schema.columns
where table_schema = 'public'
  and table_name in ('ai_training_examples', 'ai_provider_configs', 'ai_eval_samples')
order by table_name, ordinal_position;`;

/** Runbook "1.4 Verify staging": the provider rows of staging and prod. */
export const STAGING_PROD_PROVIDERS = `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries
from public.ai_provider_configs
where environment in ('staging', 'prod')
order by environment, provider;`;

/** Runbook "1.4 Verify staging": defaults in staging (expected 1). */
export const STAGING_DEFAULT_COUNT = `select
  count(*) as default_count
from public.ai_provider_configs
where environment = 'staging'
  and is_default = true;`;

/** Runbook "1.4 Verify staging": indexes of the rollout tables. */
export const INDEXES = `select
  indexname
from pg_indexes
where schemaname = 'public'
  and tablename in ('ai_training_examples', 'ai_provider_configs', 'ai_eval_samples')
order by tablename, indexname;`;

/** Runbook "3) P0 rollback": the rollback statement (run between begin and commit). */
export const P0_ROLLBACK = `update public.ai_provider_configs
set
  enabled = case when provider = 'openai' then true else false end,
  is_default = case when provider = 'openai' then true else false end,
  weight = case when provider = 'openai' then 100 else 0 end,
  updated_at = timezone('utc', now())
where environment in ('staging', 'prod');`;

/** Runbook "3) P0 rollback": the post-rollback verification. */
export const POST_ROLLBACK = `select provider, environment, enabled, is_default, weight
from public.ai_provider_configs
where environment in ('staging', 'prod')
order by environment, provider;`;

/** Runbook "5) Daily eval ingestion", step 4: the latest eval runs. */
export const EVAL_RUN_SUMMARY = `select *
from public.ai_eval_run_summary_v1
order by run_id desc
limit 5;`;

/**
 * Narrows a runbook query written for `('staging', 'prod')` or `'staging'` to the given
 * environments: prod is verified with the staging queries, `prod` put where they name
 * `staging` (runbook "2) Production rollout"). Only the fixed target names reach this function,
 * never operator input.
 */
export function forEnvironments(sql: string, environments: readonly string[]): string {
  const list = environments.map((name) => `'${name}'`).join(', ');
  return sql
    .replace(`environment in ('staging', 'prod')`, `environment in (${list})`)
    .replace(
      `environment = 'staging'`,
      environments.length === 1 ? `environment = ${list}` : `environment in (${list})`,
    );
}
