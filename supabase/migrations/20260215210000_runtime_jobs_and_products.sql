-- genloop runtime: telemetry extensions, provider attempts, the job table (which is also the
-- queue), the three product flows (flashcards, interior renders, site), usage, rate limits,
-- idempotency, rollout log and canary state. Row-level security on every user-owned table.

-- ---------------------------------------------------------------------------------------------
-- Telemetry: the columns genloop writes beside the seed 000 fields, and the late outcome
-- signals the product reports (used by `genloop eval export`).
-- ---------------------------------------------------------------------------------------------
alter table public.ai_training_examples
  add column if not exists recipe text,
  add column if not exists generation_id uuid,
  add column if not exists error jsonb,
  add column if not exists tokens_input integer,
  add column if not exists tokens_output integer,
  add column if not exists cost_usd numeric(12, 6),
  add column if not exists schema_valid boolean,
  add column if not exists patch_apply_success boolean,
  add column if not exists edit_after_generate boolean,
  add column if not exists publish_conversion boolean,
  add column if not exists safety_compliant boolean;

alter table public.ai_training_examples
  drop constraint if exists ai_training_examples_recipe_check,
  add constraint ai_training_examples_recipe_check
    check (recipe in ('site', 'flashcards', 'interior', 'gateway')),
  drop constraint if exists ai_training_examples_tokens_check,
  add constraint ai_training_examples_tokens_check
    check (tokens_input >= 0 and tokens_output >= 0 and cost_usd >= 0);

create index if not exists ai_training_examples_created_at_idx
  on public.ai_training_examples (created_at desc);
create index if not exists ai_training_examples_generation_id_idx
  on public.ai_training_examples (generation_id) where generation_id is not null;

alter table public.ai_training_examples enable row level security;
revoke all on table public.ai_training_examples from anon, authenticated;
grant select on table public.ai_training_examples to authenticated;
grant all on table public.ai_training_examples to service_role;
drop policy if exists ai_training_examples_select_own on public.ai_training_examples;
create policy ai_training_examples_select_own on public.ai_training_examples
  for select to authenticated
  using (user_id = (select auth.uid()));

-- ---------------------------------------------------------------------------------------------
-- One row per provider call (attempt), joined to ai_training_examples by request_id.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_provider_attempts (
  id bigint generated always as identity primary key,
  request_id uuid not null,
  generation_id uuid,
  attempt_no integer not null,
  provider text not null,
  model text,
  status text not null,
  error_class text,
  http_status integer,
  latency_ms integer,
  ttfb_ms integer,
  retry_after_ms integer,
  error jsonb,
  created_at timestamptz not null default timezone('utc', now()),
  constraint ai_provider_attempts_request_attempt_key unique (request_id, attempt_no),
  constraint ai_provider_attempts_attempt_no_check check (attempt_no >= 1),
  constraint ai_provider_attempts_provider_check
    check (provider in ('openai', 'custom', 'openrouter', 'replicate')),
  constraint ai_provider_attempts_status_check
    check (status in ('succeeded', 'failed', 'timeout', 'aborted')),
  constraint ai_provider_attempts_error_class_check check (error_class in (
    'rate_limited', 'server_error', 'timeout', 'network', 'bad_request', 'auth',
    'content_policy', 'invalid_output', 'stream_cut', 'canceled', 'unknown'
  )),
  constraint ai_provider_attempts_timings_check
    check (latency_ms >= 0 and ttfb_ms >= 0 and retry_after_ms >= 0),
  constraint ai_provider_attempts_failure_has_class
    check (status = 'succeeded' or error_class is not null)
);

create index if not exists ai_provider_attempts_provider_created_at_idx
  on public.ai_provider_attempts (provider, created_at desc);

alter table public.ai_provider_attempts enable row level security;
revoke all on table public.ai_provider_attempts from anon, authenticated;
grant all on table public.ai_provider_attempts to service_role;

-- Cooldown of failing providers, shared by every replica.
create table if not exists public.ai_provider_health (
  provider text not null,
  environment text not null,
  consecutive_failures integer not null default 0,
  cooldown_until timestamptz,
  last_error_class text,
  updated_at timestamptz not null default timezone('utc', now()),
  primary key (provider, environment),
  constraint ai_provider_health_failures_check check (consecutive_failures >= 0)
);

alter table public.ai_provider_health enable row level security;
revoke all on table public.ai_provider_health from anon, authenticated;
grant all on table public.ai_provider_health to service_role;

-- Response cache for identical requests within a TTL (served rows are recorded with
-- source = 'generation_cached').
create table if not exists public.ai_response_cache (
  cache_key text primary key,
  recipe text not null,
  provider text not null,
  model text,
  response jsonb not null,
  created_at timestamptz not null default timezone('utc', now()),
  expires_at timestamptz not null
);

create index if not exists ai_response_cache_expires_at_idx on public.ai_response_cache (expires_at);

alter table public.ai_response_cache enable row level security;
revoke all on table public.ai_response_cache from anon, authenticated;
grant all on table public.ai_response_cache to service_role;

-- ---------------------------------------------------------------------------------------------
-- Jobs: one row per generation; the table is also the queue.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_generations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  recipe text not null,
  status text not null default 'pending',
  source_text text,
  model text,
  prompt_version text,
  mode text,
  input jsonb not null default '{}'::jsonb,
  output jsonb,
  request_id uuid,
  idempotency_key text,
  run_after timestamptz not null default timezone('utc', now()),
  lease_until timestamptz,
  locked_by text,
  attempts integer not null default 0,
  max_attempts integer not null default 3,
  error jsonb,
  ai_metadata jsonb not null default '{}'::jsonb,
  tokens_input integer,
  tokens_output integer,
  cost_usd numeric(12, 6),
  provider text,
  provider_prediction_id text,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default timezone('utc', now()),
  updated_at timestamptz not null default timezone('utc', now()),
  constraint ai_generations_recipe_check check (recipe in ('flashcards', 'interior', 'site')),
  constraint ai_generations_status_check
    check (status in ('pending', 'running', 'succeeded', 'failed', 'canceled', 'timed_out')),
  constraint ai_generations_source_text_length
    check (recipe <> 'flashcards' or char_length(source_text) between 1000 and 10000),
  constraint ai_generations_mode_check
    check (mode is null or mode in ('redesign', 'staging', 'compose', 'imagine')),
  constraint ai_generations_attempts_check
    check (attempts >= 0 and max_attempts >= 1),
  constraint ai_generations_usage_check
    check (tokens_input >= 0 and tokens_output >= 0 and cost_usd >= 0),
  constraint ai_generations_provider_check
    check (provider in ('openai', 'custom', 'openrouter', 'replicate')),
  constraint ai_generations_terminal_has_finished_at
    check ((status in ('succeeded', 'failed', 'canceled', 'timed_out')) = (finished_at is not null)),
  constraint ai_generations_prediction_key unique (provider, provider_prediction_id)
);

-- Seed 004 names this index; it serves "my generations, newest first".
create index if not exists idx_ai_generations_user_created
  on public.ai_generations (user_id, created_at desc);
-- Claim path: pending jobs in run_after order.
create index if not exists ai_generations_pending_idx
  on public.ai_generations (run_after) where status = 'pending';
-- Reaper path: running jobs by lease expiry.
create index if not exists ai_generations_running_lease_idx
  on public.ai_generations (lease_until) where status = 'running';
-- In-flight limit per user and recipe.
create index if not exists ai_generations_in_flight_idx
  on public.ai_generations (user_id, recipe) where status in ('pending', 'running');

drop trigger if exists ai_generations_touch on public.ai_generations;
create trigger ai_generations_touch
  before update on public.ai_generations
  for each row execute function public.genloop_touch_updated_at();

-- Workers wake on insert of a runnable job instead of waiting for the next poll.
create or replace function public.genloop_notify_generation_pending() returns trigger
  language plpgsql
  as $$
begin
  if new.status = 'pending' then
    perform pg_notify('genloop_jobs', new.recipe);
  end if;
  return null;
end
$$;

drop trigger if exists ai_generations_notify on public.ai_generations;
create trigger ai_generations_notify
  after insert on public.ai_generations
  for each row execute function public.genloop_notify_generation_pending();

alter table public.ai_generations enable row level security;
revoke all on table public.ai_generations from anon, authenticated;
grant select on table public.ai_generations to authenticated;
grant insert (id, user_id, recipe, source_text, model, prompt_version, mode, input, request_id, idempotency_key)
  on table public.ai_generations to authenticated;
-- A user may only move their own unfinished job to canceled; workers run as service role.
grant update (status, finished_at) on table public.ai_generations to authenticated;
grant all on table public.ai_generations to service_role;

drop policy if exists ai_generations_select_own on public.ai_generations;
create policy ai_generations_select_own on public.ai_generations
  for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists ai_generations_insert_own on public.ai_generations;
create policy ai_generations_insert_own on public.ai_generations
  for insert to authenticated
  with check (user_id = (select auth.uid()) and status = 'pending');
drop policy if exists ai_generations_cancel_own on public.ai_generations;
create policy ai_generations_cancel_own on public.ai_generations
  for update to authenticated
  using (user_id = (select auth.uid()) and status in ('pending', 'running'))
  with check (user_id = (select auth.uid()) and status = 'canceled');

-- ---------------------------------------------------------------------------------------------
-- Flashcards (seed 004)
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_suggestions (
  id uuid primary key default gen_random_uuid(),
  generation_id uuid not null references public.ai_generations (id) on delete cascade,
  user_id uuid not null,
  position integer not null,
  front text not null,
  back text not null,
  status text not null default 'proposed',
  edited boolean not null default false,
  created_at timestamptz not null default timezone('utc', now()),
  updated_at timestamptz not null default timezone('utc', now()),
  constraint ai_suggestions_status_check check (status in ('proposed', 'accepted', 'rejected')),
  constraint ai_suggestions_front_check check (char_length(front) between 1 and 2000),
  constraint ai_suggestions_back_check check (char_length(back) between 1 and 5000),
  -- One suggestion set per generation, even when a job runs twice.
  constraint ai_suggestions_generation_position_key unique (generation_id, position)
);

create index if not exists ai_suggestions_user_id_status_idx
  on public.ai_suggestions (user_id, status);

drop trigger if exists ai_suggestions_touch on public.ai_suggestions;
create trigger ai_suggestions_touch
  before update on public.ai_suggestions
  for each row execute function public.genloop_touch_updated_at();

create table if not exists public.cards (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  front text not null,
  back text not null,
  source text not null default 'manual',
  suggestion_id uuid references public.ai_suggestions (id) on delete set null,
  generation_id uuid references public.ai_generations (id) on delete set null,
  created_at timestamptz not null default timezone('utc', now()),
  updated_at timestamptz not null default timezone('utc', now()),
  constraint cards_source_check check (source in ('manual', 'ai', 'ai_edited')),
  constraint cards_front_check check (char_length(front) between 1 and 2000),
  constraint cards_back_check check (char_length(back) between 1 and 5000),
  -- Accepting a suggestion creates its card once.
  constraint cards_suggestion_id_key unique (suggestion_id)
);

create index if not exists cards_user_created_idx on public.cards (user_id, created_at desc);

drop trigger if exists cards_touch on public.cards;
create trigger cards_touch
  before update on public.cards
  for each row execute function public.genloop_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Interior design renders (seed 003)
-- ---------------------------------------------------------------------------------------------
create table if not exists public.uploads (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  generation_id uuid references public.ai_generations (id) on delete set null,
  bucket text not null,
  path text not null,
  content_type text not null,
  size_bytes bigint not null,
  width integer,
  height integer,
  sha256 text,
  created_at timestamptz not null default timezone('utc', now()),
  constraint uploads_bucket_path_key unique (bucket, path),
  constraint uploads_size_check check (size_bytes > 0),
  constraint uploads_dimensions_check check (width > 0 and height > 0)
);

create index if not exists uploads_user_created_idx on public.uploads (user_id, created_at desc);

create table if not exists public.renders (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  generation_id uuid not null references public.ai_generations (id) on delete cascade,
  mode text not null,
  style text,
  room_type text,
  prompt text,
  created_at timestamptz not null default timezone('utc', now()),
  constraint renders_generation_id_key unique (generation_id),
  constraint renders_mode_check check (mode in ('redesign', 'staging', 'compose', 'imagine'))
);

create index if not exists renders_user_created_idx on public.renders (user_id, created_at desc, id desc);

create table if not exists public.render_variants (
  id uuid primary key default gen_random_uuid(),
  render_id uuid not null references public.renders (id) on delete cascade,
  user_id uuid not null,
  idx integer not null,
  bucket text not null,
  path text not null,
  thumbnail_path text,
  content_type text not null default 'image/webp',
  width integer not null,
  height integer not null,
  size_bytes bigint not null,
  created_at timestamptz not null default timezone('utc', now()),
  -- One set of variants per render, even when a webhook is applied twice.
  constraint render_variants_render_idx_key unique (render_id, idx),
  constraint render_variants_dimensions_check check (width > 0 and height > 0 and size_bytes > 0)
);

create index if not exists render_variants_user_id_idx on public.render_variants (user_id);

-- Standard Webhooks `webhook-id` dedupe.
create table if not exists public.webhook_events (
  webhook_id text primary key,
  source text not null,
  prediction_id text,
  received_at timestamptz not null default timezone('utc', now())
);

alter table public.webhook_events enable row level security;
revoke all on table public.webhook_events from anon, authenticated;
grant all on table public.webhook_events to service_role;

-- ---------------------------------------------------------------------------------------------
-- Usage ledger: monthly allowance; a reservation at submit, settled or refunded exactly once.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.usage_ledger (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  generation_id uuid references public.ai_generations (id) on delete set null,
  kind text not null,
  amount integer not null,
  period date not null default date_trunc('month', timezone('utc', now()))::date,
  idempotency_key text not null,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default timezone('utc', now()),
  constraint usage_ledger_kind_check check (kind in ('reserve', 'settle', 'refund', 'grant', 'adjust')),
  constraint usage_ledger_idempotency_key_key unique (idempotency_key)
);

create index if not exists usage_ledger_user_period_idx on public.usage_ledger (user_id, period);

-- ---------------------------------------------------------------------------------------------
-- Durable rate limits (sliding log of hit times per key) and idempotency keys.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.rate_limits (
  key text primary key,
  hits timestamptz[] not null default '{}',
  updated_at timestamptz not null default timezone('utc', now())
);

alter table public.rate_limits enable row level security;
revoke all on table public.rate_limits from anon, authenticated;
grant all on table public.rate_limits to service_role;

create table if not exists public.idempotency_keys (
  user_id uuid not null,
  key text not null,
  scope text not null,
  request_hash text not null,
  status text not null default 'in_progress',
  response_status integer,
  response_body jsonb,
  resource_id uuid,
  created_at timestamptz not null default timezone('utc', now()),
  expires_at timestamptz not null default timezone('utc', now()) + interval '24 hours',
  primary key (user_id, key),
  constraint idempotency_keys_status_check check (status in ('in_progress', 'completed')),
  constraint idempotency_keys_key_check check (char_length(key) between 1 and 255)
);

create index if not exists idempotency_keys_expires_at_idx on public.idempotency_keys (expires_at);

alter table public.idempotency_keys enable row level security;
revoke all on table public.idempotency_keys from anon, authenticated;
grant all on table public.idempotency_keys to service_role;

-- ---------------------------------------------------------------------------------------------
-- Rollout log and canary state
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_rollout_log (
  id bigint generated always as identity primary key,
  environment text not null,
  action text not null,
  operator text not null,
  status text not null,
  started_at timestamptz not null default timezone('utc', now()),
  finished_at timestamptz,
  verification jsonb,
  rollback_test_result text,
  saved_state jsonb,
  notes text,
  created_at timestamptz not null default timezone('utc', now()),
  constraint ai_rollout_log_action_check check (action in (
    'apply', 'verify', 'rollback', 'restore', 'canary_start', 'canary_step', 'canary_abort',
    'canary_complete', 'note'
  )),
  constraint ai_rollout_log_status_check check (status in ('ok', 'failed', 'info'))
);

create index if not exists ai_rollout_log_environment_started_idx
  on public.ai_rollout_log (environment, started_at desc);

create table if not exists public.ai_canary_runs (
  id bigint generated always as identity primary key,
  environment text not null,
  candidate_provider text not null,
  status text not null default 'running',
  steps integer[] not null,
  current_step integer not null default 0,
  guardrails jsonb not null,
  baseline jsonb not null,
  last_evaluation jsonb,
  operator text not null,
  started_at timestamptz not null default timezone('utc', now()),
  updated_at timestamptz not null default timezone('utc', now()),
  finished_at timestamptz,
  constraint ai_canary_runs_status_check
    check (status in ('running', 'completed', 'aborted', 'rolled_back')),
  constraint ai_canary_runs_provider_check
    check (candidate_provider in ('openai', 'custom', 'openrouter', 'replicate'))
);

-- One canary at a time per environment.
create unique index if not exists ai_canary_runs_one_running_per_environment
  on public.ai_canary_runs (environment) where status = 'running';

drop trigger if exists ai_canary_runs_touch on public.ai_canary_runs;
create trigger ai_canary_runs_touch
  before update on public.ai_canary_runs
  for each row execute function public.genloop_touch_updated_at();

alter table public.ai_rollout_log enable row level security;
alter table public.ai_canary_runs enable row level security;
revoke all on table public.ai_rollout_log, public.ai_canary_runs from anon, authenticated;
grant all on table public.ai_rollout_log, public.ai_canary_runs to service_role;

-- ---------------------------------------------------------------------------------------------
-- Row-level security for the user-owned product tables: user_id = (select auth.uid()).
-- ---------------------------------------------------------------------------------------------
do $$
declare
  t text;
begin
  foreach t in array array[
    'ai_suggestions', 'cards', 'uploads', 'renders', 'render_variants', 'usage_ledger'
  ] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from anon, authenticated', t);
    execute format('grant all on table public.%I to service_role', t);
    execute format('drop policy if exists %I on public.%I', t || '_select_own', t);
    execute format(
      'create policy %I on public.%I for select to authenticated using (user_id = (select auth.uid()))',
      t || '_select_own', t
    );
  end loop;
end
$$;

grant select on table public.ai_suggestions, public.cards, public.uploads, public.renders,
  public.render_variants, public.usage_ledger to authenticated;

-- Suggestions: the owner edits front/back and accepts or rejects.
grant update (front, back, status, edited) on table public.ai_suggestions to authenticated;
drop policy if exists ai_suggestions_update_own on public.ai_suggestions;
create policy ai_suggestions_update_own on public.ai_suggestions
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- Cards: fully owned by the user.
grant insert, update, delete on table public.cards to authenticated;
drop policy if exists cards_insert_own on public.cards;
create policy cards_insert_own on public.cards
  for insert to authenticated with check (user_id = (select auth.uid()));
drop policy if exists cards_update_own on public.cards;
create policy cards_update_own on public.cards
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists cards_delete_own on public.cards;
create policy cards_delete_own on public.cards
  for delete to authenticated using (user_id = (select auth.uid()));

-- Uploads: the owner records and removes their own uploads.
grant insert, delete on table public.uploads to authenticated;
drop policy if exists uploads_insert_own on public.uploads;
create policy uploads_insert_own on public.uploads
  for insert to authenticated with check (user_id = (select auth.uid()));
drop policy if exists uploads_delete_own on public.uploads;
create policy uploads_delete_own on public.uploads
  for delete to authenticated using (user_id = (select auth.uid()));

-- Renders: the owner deletes a render (its variants cascade).
grant delete on table public.renders to authenticated;
drop policy if exists renders_delete_own on public.renders;
create policy renders_delete_own on public.renders
  for delete to authenticated using (user_id = (select auth.uid()));
