/**
 * The verification queries of the Phase 2 rollout runbook (seed 002), copied verbatim so the
 * output of `genloop rollout verify` is the output an operator would get in the SQL editor.
 */

/** §0.3: every provider row of the single database. */
export const SINGLE_DB_PROVIDERS = `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries
from public.ai_provider_configs
order by environment, provider;`;

/** §0.3: expected prod_default_count = 1 and non_prod_enabled_count = 0. */
export const SINGLE_DB_COUNTS = `select
  count(*) filter (where environment = 'prod' and is_default = true) as prod_default_count,
  count(*) filter (where environment <> 'prod' and enabled = true) as non_prod_enabled_count
from public.ai_provider_configs;`;

/** §0.3 and §1.4: the three eval objects (null when missing). */
export const EVAL_OBJECTS = `select
  to_regclass('public.ai_eval_runs') as ai_eval_runs,
  to_regclass('public.ai_eval_samples') as ai_eval_samples,
  to_regclass('public.ai_eval_run_summary_v1') as ai_eval_run_summary_v1;`;

/** §1.1 preflight: the tables the rollout needs. */
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

/** §1.1 preflight: their columns. */
export const PREFLIGHT_COLUMNS = `select
  table_name,
  column_name,
  data_type
from information_schema.columns
where table_schema = 'public'
  and table_name in ('ai_training_examples', 'ai_provider_configs', 'ai_eval_samples')
order by table_name, ordinal_position;`;

/** §1.4: the provider rows of staging and prod. */
export const STAGING_PROD_PROVIDERS = `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries
from public.ai_provider_configs
where environment in ('staging', 'prod')
order by environment, provider;`;

/** §1.4: defaults in staging (expected 1). */
export const STAGING_DEFAULT_COUNT = `select
  count(*) as default_count
from public.ai_provider_configs
where environment = 'staging'
  and is_default = true;`;

/** §1.4: indexes of the rollout tables. */
export const INDEXES = `select
  indexname
from pg_indexes
where schemaname = 'public'
  and tablename in ('ai_training_examples', 'ai_provider_configs', 'ai_eval_samples')
order by tablename, indexname;`;

/** §3: the P0 rollback statement (run between begin and commit). */
export const P0_ROLLBACK = `update public.ai_provider_configs
set
  enabled = case when provider = 'openai' then true else false end,
  is_default = case when provider = 'openai' then true else false end,
  weight = case when provider = 'openai' then 100 else 0 end,
  updated_at = timezone('utc', now())
where environment in ('staging', 'prod');`;

/** §3: post-rollback verification. */
export const POST_ROLLBACK = `select provider, environment, enabled, is_default, weight
from public.ai_provider_configs
where environment in ('staging', 'prod')
order by environment, provider;`;

/** §5 step 4: the latest eval runs. */
export const EVAL_RUN_SUMMARY = `select *
from public.ai_eval_run_summary_v1
order by run_id desc
limit 5;`;

/**
 * Narrows a seed query written for `('staging', 'prod')` or `'staging'` to the given
 * environments, as §2.4 says ("replacing staging checks with prod where applicable"). Only the
 * fixed target names reach this function, never operator input.
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
