-- The automated canary: `genloop canary start|status|promote|abort`, and the controller that every
-- `genloop serve` process runs (one of them leads at a time).
--
-- 1. ai_canary_runs takes the states the CLI shows: progressing, promoted, rolled_back, halted,
--    aborted. Nothing in genloop wrote this table before; a row made by hand keeps its steps and
--    baseline, `running` becomes `halted` (the controller never acts on a run it did not start:
--    an operator promotes or aborts it) and `completed` becomes `promoted`. The old free-form
--    `guardrails` and `last_evaluation` give way to one column per threshold (the ADR's
--    defaults) and to ai_canary_checks.
-- 2. One canary per environment while it owns the environment's weights: progressing or halted
--    (a halted canary leaves its weights in place until it is promoted or aborted).
-- 3. ai_canary_checks: every check of a run, with what it measured and what it decided.
-- 4. genloop_leases: named leases with an expiry, taken and renewed by one upsert. The canary's
--    leader holds one; unlike a session advisory lock it works through a transaction-mode pooler.
-- 5. ai_training_examples gets the routing environment and the provider the route strategy chose
--    first (planned_provider), so a canary can count "this environment's first tries to provider
--    P since T" from one index. Both are nullable without a default: adding them rewrites
--    nothing, and rows written before stay null. The index covers only rows that have a planned
--    provider and carries the measured columns, so a check reads the index alone. On a large live
--    table build it by hand first (`create index concurrently if not exists …`, same definition)
--    so applying this file does not block telemetry writers.
-- 6. The rollout log records each canary decision: a check that holds the step, a halt and a
--    rollback are actions of their own.

-- 1.
drop index if exists public.ai_canary_runs_one_running_per_environment;

alter table public.ai_canary_runs
  drop constraint if exists ai_canary_runs_status_check,
  drop column if exists guardrails,
  drop column if exists last_evaluation,
  alter column status set default 'progressing',
  add column if not exists interval_ms integer not null default 600000,
  add column if not exists min_samples integer not null default 30,
  add column if not exists max_failed_checks integer not null default 2,
  add column if not exists max_fallback_rate numeric not null default 0.05,
  add column if not exists max_p95_ms integer,
  add column if not exists min_schema_valid numeric not null default 0.99,
  add column if not exists step_started_at timestamptz not null default timezone('utc', now()),
  add column if not exists next_check_at timestamptz not null default timezone('utc', now()),
  add column if not exists failed_checks integer not null default 0,
  add column if not exists inconclusive_checks integer not null default 0,
  add column if not exists notify_url text,
  add column if not exists notify_secret text,
  add column if not exists reason text;

update public.ai_canary_runs
   set status = case status when 'running' then 'halted' else 'promoted' end,
       reason = case status
         when 'running' then 'started before the automated canary existed; promote or abort it'
         else reason
       end,
       finished_at = case status when 'running' then null else coalesce(finished_at, updated_at) end
 where status in ('running', 'completed');

update public.ai_canary_runs
   set finished_at = coalesce(finished_at, updated_at)
 where status in ('aborted', 'rolled_back');

alter table public.ai_canary_runs
  add constraint ai_canary_runs_status_check
    check (status in ('progressing', 'promoted', 'rolled_back', 'halted', 'aborted')),
  add constraint ai_canary_runs_finished_check
    check ((status in ('progressing', 'halted')) = (finished_at is null)),
  add constraint ai_canary_runs_steps_check
    check (cardinality(steps) >= 1 and steps[cardinality(steps)] = 100 and 0 < all (steps)
           and 100 >= all (steps)),
  add constraint ai_canary_runs_current_step_check
    check (current_step >= 0 and current_step < cardinality(steps)),
  add constraint ai_canary_runs_thresholds_check
    check (interval_ms between 1000 and 86400000
           and min_samples >= 1
           and max_failed_checks >= 0
           and max_fallback_rate between 0 and 1
           and min_schema_valid between 0 and 1
           and (max_p95_ms is null or max_p95_ms > 0)
           and failed_checks >= 0
           and inconclusive_checks >= 0);

comment on column public.ai_canary_runs.baseline is
  'the environment''s ai_provider_configs rows as they were before the canary started; a rollback or an abort puts them back exactly';
comment on column public.ai_canary_runs.current_step is
  'index into steps (0-based) of the weight the candidate has now';
comment on column public.ai_canary_runs.step_started_at is
  'start of the current step: each check measures telemetry since then';
comment on column public.ai_canary_runs.inconclusive_checks is
  'checks in a row with fewer first tries to the candidate than min_samples';
comment on column public.ai_canary_runs.notify_secret is
  'Standard Webhooks secret (whsec_) the decisions posted to notify_url are signed with';

-- 2.
create unique index if not exists ai_canary_runs_one_active_per_environment
  on public.ai_canary_runs (environment) where status in ('progressing', 'halted');

-- 3.
create table if not exists public.ai_canary_checks (
  id bigint generated always as identity primary key,
  run_id bigint not null references public.ai_canary_runs (id) on delete cascade,
  step_index integer not null,
  weight integer not null,
  window_start timestamptz not null,
  checked_at timestamptz not null default timezone('utc', now()),
  verdict text not null,
  decision text not null,
  candidate jsonb not null,
  baseline jsonb not null,
  guardrails jsonb not null default '[]'::jsonb,
  reason text not null,
  log_id bigint,
  constraint ai_canary_checks_verdict_check
    check (verdict in ('passed', 'failed', 'inconclusive')),
  constraint ai_canary_checks_decision_check
    check (decision in ('hold', 'step', 'promote', 'rollback', 'halt'))
);

create index if not exists ai_canary_checks_run_idx on public.ai_canary_checks (run_id, id);

-- 4.
create table if not exists public.genloop_leases (
  name text primary key,
  holder text not null,
  expires_at timestamptz not null
);

-- 5.
alter table public.ai_training_examples
  add column if not exists environment text,
  add column if not exists planned_provider text;

-- Not valid: the rows written before have no planned provider, so there is nothing to check,
-- and validating would read the whole table.
alter table public.ai_training_examples
  drop constraint if exists ai_training_examples_planned_provider_check,
  add constraint ai_training_examples_planned_provider_check
    check (planned_provider is null
           or planned_provider in ('openai', 'custom', 'openrouter', 'replicate')) not valid;

comment on column public.ai_training_examples.environment is
  'routing environment (GENLOOP_ENV) whose ai_provider_configs planned the route; null on rows written before it was recorded';
comment on column public.ai_training_examples.planned_provider is
  'provider the route strategy chose first (requested, recipe default, weighted draw or environment default), also when a cooldown moved it back; null for cached answers and rows written before it was recorded';

create index if not exists ai_training_examples_environment_planned_idx
  on public.ai_training_examples (environment, planned_provider, created_at)
  include (fallback_used, latency_ms, schema_valid, safety_compliant)
  where planned_provider is not null;

-- 6.
alter table public.ai_rollout_log drop constraint if exists ai_rollout_log_action_check;
alter table public.ai_rollout_log add constraint ai_rollout_log_action_check check (action in (
  'apply', 'verify', 'rollback', 'restore', 'canary_start', 'canary_step', 'canary_check',
  'canary_halt', 'canary_rollback', 'canary_abort', 'canary_complete', 'note', 'provider_update'
));

-- Grants: operator tables, the service role only (also against Supabase's default privileges,
-- which hand new tables and sequences to every role).
alter table public.ai_canary_checks enable row level security;
alter table public.genloop_leases enable row level security;
revoke all on table public.ai_canary_checks, public.genloop_leases from public, anon, authenticated;
revoke all on sequence public.ai_canary_checks_id_seq from public, anon, authenticated;
grant all on table public.ai_canary_checks, public.genloop_leases to service_role;
grant all on sequence public.ai_canary_checks_id_seq to service_role;
