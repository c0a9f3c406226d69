-- Timestamps that do not depend on the session's time zone.
--
-- A timestamptz is an instant. The defaults (and three functions) wrote
-- timezone('utc', now()): the current UTC wall-clock time as a timestamp without time zone,
-- which Postgres then turns back into an instant by reading it in the session's TimeZone. In a
-- UTC session (Supabase's, and Postgres's when the server's zone is UTC) that is now(); in any
-- other it is off by the zone's offset. A job submitted on a server whose zone is
-- America/New_York got a run_after five hours ahead, so no worker claimed it for five hours,
-- and its created_at was five hours wrong. now() is the same instant whatever the session's
-- zone.

do $migration$
declare
  target record;
begin
  for target in
    select * from (values
      ('ai_canary_checks', 'checked_at'),
      ('ai_canary_runs', 'next_check_at'),
      ('ai_canary_runs', 'started_at'),
      ('ai_canary_runs', 'step_started_at'),
      ('ai_canary_runs', 'updated_at'),
      ('ai_eval_runs', 'created_at'),
      ('ai_eval_runs', 'started_at'),
      ('ai_eval_samples', 'created_at'),
      ('ai_generations', 'created_at'),
      ('ai_generations', 'run_after'),
      ('ai_generations', 'updated_at'),
      ('ai_provider_attempts', 'created_at'),
      ('ai_provider_configs', 'created_at'),
      ('ai_provider_configs', 'updated_at'),
      ('ai_provider_health', 'updated_at'),
      ('ai_response_cache', 'created_at'),
      ('ai_rollout_log', 'created_at'),
      ('ai_rollout_log', 'started_at'),
      ('ai_semantic_cache', 'created_at'),
      ('ai_suggestions', 'created_at'),
      ('ai_suggestions', 'updated_at'),
      ('ai_training_examples', 'created_at'),
      ('budget_ledger', 'created_at'),
      ('budget_plans', 'created_at'),
      ('budget_plans', 'updated_at'),
      ('budget_users', 'updated_at'),
      ('cards', 'created_at'),
      ('cards', 'updated_at'),
      ('idempotency_keys', 'created_at'),
      ('rate_limits', 'updated_at'),
      ('render_variants', 'created_at'),
      ('renders', 'created_at'),
      ('uploads', 'created_at'),
      ('usage_ledger', 'created_at'),
      ('webhook_events', 'received_at')
    ) as columns (table_name, column_name)
  loop
    if to_regclass(format('public.%I', target.table_name)) is not null then
      execute format('alter table public.%I alter column %I set default now()',
                     target.table_name, target.column_name);
    end if;
  end loop;
end
$migration$;

alter table public.idempotency_keys alter column expires_at set default now() + interval '24 hours';

create or replace function public.genloop_touch_updated_at() returns trigger
  language plpgsql
  as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- A cancel through the REST API gives the quota unit back exactly as genloop's own cancel does
-- (same ledger key, so whichever comes first counts), and its finish time is the database's.
create or replace function public.genloop_generation_canceled() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  -- Inside a security definer function current_user is the owner; the caller's role is the
  -- `role` setting that PostgREST (and genloop) switch to.
  if current_setting('role', true) in ('authenticated', 'anon') then
    new.finished_at := now();
  end if;
  insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key, metadata)
  select new.user_id, new.id, 'refund', 1, 'final:' || new.id::text,
         jsonb_build_object('reason', 'canceled')
   where exists (
     select 1 from public.usage_ledger where idempotency_key = 'reserve:' || new.id::text
   )
  on conflict (idempotency_key) do nothing;
  return new;
end
$$;

-- Creates the semantic cache's table once pgvector is there (unchanged but for created_at's
-- default).
create or replace function genloop.enable_semantic_cache() returns boolean
  language plpgsql
  set search_path = pg_catalog, pg_temp
  as $function$
declare
  vector_schema text;
begin
  if to_regclass('public.ai_semantic_cache') is not null then
    return true;
  end if;
  select n.nspname into vector_schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace
   where e.extname = 'vector';
  if vector_schema is null then
    if not exists (select 1 from pg_available_extensions where name = 'vector') then
      raise notice 'genloop: pgvector is not installed on this server; the semantic cache stays off';
      return false;
    end if;
    begin
      create schema if not exists extensions;
      create extension if not exists vector with schema extensions;
    exception when insufficient_privilege then
      raise warning 'genloop: % may not create the vector extension; the semantic cache stays off until someone who may runs: create extension vector with schema extensions', current_user;
      return false;
    end;
    vector_schema := 'extensions';
  end if;
  execute 'grant usage on schema ' || quote_ident(vector_schema) || ' to service_role';
  execute format($ddl$
    create table public.ai_semantic_cache (
      id bigint generated always as identity primary key,
      scope text not null,
      context_hash text not null,
      request_hash text not null,
      embedding %1$I.vector(256) not null,
      provider text not null,
      model text,
      response jsonb not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      constraint ai_semantic_cache_hashes_check check (
        context_hash ~ '^[0-9a-f]{64}$' and request_hash ~ '^[0-9a-f]{64}$'
      )
    )$ddl$, vector_schema);
  execute 'create unique index ai_semantic_cache_request_idx
             on public.ai_semantic_cache (scope, request_hash)';
  execute 'create index ai_semantic_cache_context_idx
             on public.ai_semantic_cache (scope, context_hash, expires_at)';
  execute 'create index ai_semantic_cache_expires_at_idx on public.ai_semantic_cache (expires_at)';
  execute format(
    'create index ai_semantic_cache_embedding_idx on public.ai_semantic_cache
       using hnsw (embedding %I.vector_cosine_ops)',
    vector_schema);
  execute 'alter table public.ai_semantic_cache enable row level security';
  execute 'revoke all on table public.ai_semantic_cache from anon, authenticated';
  execute 'grant all on table public.ai_semantic_cache to service_role';
  execute 'revoke all on sequence public.ai_semantic_cache_id_seq from anon, authenticated';
  execute 'grant all on sequence public.ai_semantic_cache_id_seq to service_role';
  return true;
end
$function$;
