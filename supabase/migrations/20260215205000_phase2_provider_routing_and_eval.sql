-- Phase 2: provider routing controls (seed 001 workstream 1) and eval run contracts
-- (workstream 2). Non-breaking: only adds tables, columns, constraints and indexes.

-- ---------------------------------------------------------------------------------------------
-- Provider routing config
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_provider_configs (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  environment text not null,
  enabled boolean not null default false,
  is_default boolean not null default false,
  weight integer not null default 0,
  timeout_ms integer not null default 30000,
  max_retries integer not null default 2,
  model text,
  prompt_template_version text not null default 'v1',
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default timezone('utc', now()),
  updated_at timestamptz not null default timezone('utc', now()),
  constraint ai_provider_configs_provider_environment_key unique (provider, environment),
  constraint ai_provider_configs_provider_check
    check (provider in ('openai', 'custom', 'openrouter', 'replicate')),
  constraint ai_provider_configs_environment_check check (environment ~ '^[a-z][a-z0-9_-]{0,31}$'),
  constraint ai_provider_configs_weight_check check (weight between 0 and 100),
  constraint ai_provider_configs_timeout_ms_check check (timeout_ms between 1 and 600000),
  constraint ai_provider_configs_max_retries_check check (max_retries between 0 and 10),
  constraint ai_provider_configs_prompt_template_version_check
    check (btrim(prompt_template_version) <> ''),
  constraint ai_provider_configs_default_is_enabled check (not is_default or enabled),
  constraint ai_provider_configs_metadata_is_object check (jsonb_typeof(metadata) = 'object')
);

-- At most one default provider per environment, enforced by the database.
create unique index if not exists ai_provider_configs_one_default_per_environment
  on public.ai_provider_configs (environment)
  where is_default;

drop trigger if exists ai_provider_configs_touch on public.ai_provider_configs;
create trigger ai_provider_configs_touch
  before update on public.ai_provider_configs
  for each row execute function public.genloop_touch_updated_at();

-- Every replica caches the routing table; a change wakes them through LISTEN/NOTIFY.
create or replace function public.genloop_notify_provider_configs() returns trigger
  language plpgsql
  as $$
begin
  perform pg_notify('genloop_provider_configs', coalesce(new.environment, old.environment));
  return null;
end
$$;

drop trigger if exists ai_provider_configs_notify on public.ai_provider_configs;
create trigger ai_provider_configs_notify
  after insert or update or delete on public.ai_provider_configs
  for each row execute function public.genloop_notify_provider_configs();

-- Deterministic defaults (seed 001): openai enabled + default in prod, custom enabled +
-- non-default in prod.
insert into public.ai_provider_configs
  (provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model, prompt_template_version)
values
  ('openai', 'prod', true, true, 100, 30000, 2, 'gpt-4o-mini', 'site-v1'),
  ('custom', 'prod', true, false, 0, 30000, 1, 'default', 'site-v1')
on conflict (provider, environment) do nothing;

alter table public.ai_provider_configs enable row level security;
revoke all on table public.ai_provider_configs from anon, authenticated;
grant all on table public.ai_provider_configs to service_role;

-- ---------------------------------------------------------------------------------------------
-- Phase 2 telemetry columns on the canonical training table (seed 000 "Required Runtime Writes")
-- ---------------------------------------------------------------------------------------------
alter table public.ai_training_examples
  add column if not exists request_id uuid,
  add column if not exists requested_provider text,
  add column if not exists selected_provider text,
  add column if not exists route_strategy text,
  add column if not exists fallback_provider text,
  add column if not exists fallback_used boolean not null default false,
  add column if not exists latency_ms integer,
  add column if not exists prompt_template_version text,
  -- status is null on Phase 1 rows and set on every runtime write.
  add column if not exists status text;

alter table public.ai_training_examples
  drop constraint if exists ai_training_examples_status_check,
  add constraint ai_training_examples_status_check
    check (status in ('succeeded', 'failed')),
  drop constraint if exists ai_training_examples_provider_names_check,
  add constraint ai_training_examples_provider_names_check check (
    (requested_provider is null or requested_provider in ('openai', 'custom', 'openrouter', 'replicate'))
    and (selected_provider is null or selected_provider in ('openai', 'custom', 'openrouter', 'replicate'))
    and (fallback_provider is null or fallback_provider in ('openai', 'custom', 'openrouter', 'replicate'))
  ),
  drop constraint if exists ai_training_examples_route_strategy_check,
  add constraint ai_training_examples_route_strategy_check
    check (route_strategy in ('single_provider', 'weighted', 'fallback')),
  -- Runtime contract rule 1: selected_provider is present on successful generation writes.
  drop constraint if exists ai_training_examples_rule1_selected_provider,
  add constraint ai_training_examples_rule1_selected_provider
    check (status is distinct from 'succeeded' or selected_provider is not null),
  -- Rule 2: fallback_used = true implies fallback_provider is non-null.
  drop constraint if exists ai_training_examples_rule2_fallback_provider,
  add constraint ai_training_examples_rule2_fallback_provider
    check (not fallback_used or fallback_provider is not null),
  -- Rule 3: latency_ms >= 0.
  drop constraint if exists ai_training_examples_rule3_latency_ms,
  add constraint ai_training_examples_rule3_latency_ms check (latency_ms >= 0),
  -- Rule 4: prompt_template_version is non-empty.
  drop constraint if exists ai_training_examples_rule4_prompt_template_version,
  add constraint ai_training_examples_rule4_prompt_template_version
    check (btrim(prompt_template_version) <> ''),
  -- Every runtime write (status set) carries the required routing fields of seed 000.
  drop constraint if exists ai_training_examples_runtime_fields_required,
  add constraint ai_training_examples_runtime_fields_required check (
    status is null
    or (request_id is not null and route_strategy is not null and prompt_template_version is not null)
  );

create index if not exists ai_training_examples_selected_provider_created_at_idx
  on public.ai_training_examples (selected_provider, created_at desc);
create index if not exists ai_training_examples_request_id_idx
  on public.ai_training_examples (request_id);
create index if not exists ai_training_examples_route_strategy_created_at_idx
  on public.ai_training_examples (route_strategy, created_at desc);

-- ---------------------------------------------------------------------------------------------
-- Eval runs (seed 001 workstream 2)
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_eval_runs (
  id bigint generated always as identity primary key,
  run_type text not null default 'manual',
  schema_variant text not null default 'generic',
  triggered_by text,
  trigger_ref text,
  git_sha text,
  thresholds jsonb not null default '{}'::jsonb,
  status text not null default 'running',
  sample_count integer not null default 0,
  report jsonb,
  metadata jsonb not null default '{}'::jsonb,
  started_at timestamptz not null default timezone('utc', now()),
  finished_at timestamptz,
  created_at timestamptz not null default timezone('utc', now()),
  constraint ai_eval_runs_status_check check (status in ('running', 'passed', 'failed', 'aborted')),
  constraint ai_eval_runs_schema_variant_check
    check (schema_variant in ('sitecraft', 'flashcards', 'interior', 'generic')),
  constraint ai_eval_runs_thresholds_is_object check (jsonb_typeof(thresholds) = 'object'),
  constraint ai_eval_runs_terminal_has_finished_at
    check ((status = 'running') = (finished_at is null))
);

create index if not exists ai_eval_runs_started_at_idx on public.ai_eval_runs (started_at desc);

create table if not exists public.ai_eval_samples (
  id bigint generated always as identity primary key,
  run_id bigint not null references public.ai_eval_runs (id) on delete cascade,
  record_id text not null,
  record_created_at timestamptz,
  schema_valid boolean,
  patch_apply_success boolean,
  edit_after_generate boolean,
  publish_conversion boolean,
  safety_compliant boolean,
  fallback_used boolean,
  latency_ms integer,
  requested_provider text,
  selected_provider text,
  route_strategy text,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default timezone('utc', now()),
  constraint ai_eval_samples_latency_ms_check check (latency_ms >= 0)
);

create index if not exists ai_eval_samples_run_id_idx on public.ai_eval_samples (run_id);

-- A passed or failed run has at least one sample (checked at commit, so a run and its samples
-- are written in one transaction).
create or replace function public.genloop_eval_run_has_samples() returns trigger
  language plpgsql
  as $$
begin
  if new.status in ('passed', 'failed')
     and not exists (select 1 from public.ai_eval_samples s where s.run_id = new.id) then
    raise exception 'eval run % is % but has no samples', new.id, new.status
      using errcode = 'check_violation',
            hint = 'write the samples in the same transaction, or mark the run aborted';
  end if;
  return null;
end
$$;

drop trigger if exists ai_eval_runs_has_samples on public.ai_eval_runs;
create constraint trigger ai_eval_runs_has_samples
  after insert or update on public.ai_eval_runs
  deferrable initially deferred
  for each row execute function public.genloop_eval_run_has_samples();

-- The seven seed metrics per run. Rates count only samples where the outcome was observed
-- (null = not observed). p95 is percentile_cont (linear interpolation between closest ranks),
-- the same definition `genloop eval run` uses.
create or replace view public.ai_eval_run_summary_v1
  with (security_invoker = true)
  as
select
  r.id as run_id,
  r.run_type,
  r.schema_variant,
  r.status,
  r.triggered_by,
  r.started_at,
  r.finished_at,
  count(s.id)::integer as sample_count,
  round(avg(s.schema_valid::int)::numeric, 6) as schema_valid_rate,
  round(avg(s.patch_apply_success::int)::numeric, 6) as patch_apply_success,
  round(avg(s.edit_after_generate::int)::numeric, 6) as edit_after_generate_rate,
  round(avg(s.publish_conversion::int)::numeric, 6) as publish_conversion_proxy,
  round(avg(s.safety_compliant::int)::numeric, 6) as safety_html_tailwind_compliance,
  round(avg(s.fallback_used::int)::numeric, 6) as fallback_rate,
  round((percentile_cont(0.95) within group (order by s.latency_ms))::numeric, 3) as p95_latency_ms
from public.ai_eval_runs r
left join public.ai_eval_samples s on s.run_id = r.id
group by r.id;

-- Failed gates of every run in one statement: `select * from ai_eval_failed_gates_v1 where
-- run_id = $1`. A gate whose metric could not be computed (null) counts as failed.
create or replace view public.ai_eval_failed_gates_v1
  with (security_invoker = true)
  as
select
  s.run_id,
  g.gate,
  g.metric,
  (r.thresholds ->> g.gate)::numeric as threshold,
  g.value
from public.ai_eval_run_summary_v1 s
join public.ai_eval_runs r on r.id = s.run_id
cross join lateral (
  values
    ('schema_valid_rate_min', 'schema_valid_rate', 'min', s.schema_valid_rate),
    ('patch_apply_success_min', 'patch_apply_success', 'min', s.patch_apply_success),
    ('edit_after_generate_rate_min', 'edit_after_generate_rate', 'min', s.edit_after_generate_rate),
    ('publish_conversion_proxy_min', 'publish_conversion_proxy', 'min', s.publish_conversion_proxy),
    ('safety_html_tailwind_compliance_min', 'safety_html_tailwind_compliance', 'min', s.safety_html_tailwind_compliance),
    ('fallback_rate_max', 'fallback_rate', 'max', s.fallback_rate),
    ('p95_latency_ms_max', 'p95_latency_ms', 'max', s.p95_latency_ms)
) as g(gate, metric, kind, value)
where r.thresholds ? g.gate
  and (
    g.value is null
    or (g.kind = 'min' and g.value < (r.thresholds ->> g.gate)::numeric)
    or (g.kind = 'max' and g.value > (r.thresholds ->> g.gate)::numeric)
  );

alter table public.ai_eval_runs enable row level security;
alter table public.ai_eval_samples enable row level security;
revoke all on table public.ai_eval_runs, public.ai_eval_samples from anon, authenticated;
revoke all on table public.ai_eval_run_summary_v1, public.ai_eval_failed_gates_v1 from anon, authenticated;
grant all on table public.ai_eval_runs, public.ai_eval_samples to service_role;
grant select on table public.ai_eval_run_summary_v1, public.ai_eval_failed_gates_v1 to service_role;
