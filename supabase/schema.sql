CREATE SCHEMA auth;

CREATE SCHEMA genloop;

CREATE SCHEMA public;

COMMENT ON SCHEMA public IS 'standard public schema';

CREATE FUNCTION auth.jwt() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;

CREATE FUNCTION auth.role() RETURNS text
    LANGUAGE sql STABLE
    AS $$
        select coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb ->> 'role'
        )
      $$;

CREATE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$
        select nullif(
          coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb ->> 'sub'
          ),
          ''
        )::uuid
      $$;

CREATE FUNCTION genloop.enable_semantic_cache() RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

CREATE FUNCTION public.genloop_budget_spend_apply() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    update public.budget_spend s
       set committed_usd = s.committed_usd - old.amount_usd,
           settled_cost_usd = s.settled_cost_usd
             - case when old.kind = 'settle' then coalesce(old.cost_usd, 0) else 0 end
     where s.user_id = old.user_id and s.period_start = old.period_start;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.budget_spend as s (user_id, period_start, committed_usd, settled_cost_usd)
    values (new.user_id, new.period_start, new.amount_usd,
            case when new.kind = 'settle' then coalesce(new.cost_usd, 0) else 0 end)
    on conflict (user_id, period_start) do update
      set committed_usd = s.committed_usd + excluded.committed_usd,
          settled_cost_usd = s.settled_cost_usd + excluded.settled_cost_usd;
  end if;
  return null;
end
$$;

CREATE FUNCTION public.genloop_eval_run_has_samples() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.genloop_generation_canceled() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

CREATE FUNCTION public.genloop_generation_source_text_rejected() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  raise exception 'new row for relation "ai_generations" violates check constraint "ai_generations_source_text_length"'
    using errcode = 'check_violation',
          constraint = 'ai_generations_source_text_length',
          schema = 'public',
          table = 'ai_generations',
          detail = format('A flashcard generation''s source_text has 1000 to 10000 characters, not %s.',
                          char_length(new.source_text));
end
$$;

CREATE FUNCTION public.genloop_histogram_add(a bigint[], b bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
declare
  i integer;
begin
  if a is null then
    return b;
  end if;
  if b is null then
    return a;
  end if;
  for i in 1 .. array_length(b, 1) loop
    a[i] := coalesce(a[i], 0) + b[i];
  end loop;
  return a;
end
$$;

CREATE FUNCTION public.genloop_histogram_from_buckets(buckets integer[], counts bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
declare
  histogram bigint[] := array_fill(0::bigint, array[153]);
  i integer;
begin
  for i in 1 .. coalesce(array_length(buckets, 1), 0) loop
    histogram[buckets[i]] := histogram[buckets[i]] + counts[i];
  end loop;
  return histogram;
end
$$;

CREATE FUNCTION public.genloop_histogram_percentile(histogram bigint[], fraction double precision) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
declare
  total bigint := 0;
  position double precision;
  low_rank bigint;
  high_rank bigint;
  low_value double precision;
  high_value double precision;
  cumulative bigint := 0;
  i integer;
begin
  if histogram is null or fraction is null then
    return null;
  end if;
  if fraction < 0 or fraction > 1 then
    raise exception 'percentile value % is not between 0 and 1', fraction
      using errcode = 'numeric_value_out_of_range';
  end if;
  for i in 1 .. coalesce(array_length(histogram, 1), 0) loop
    total := total + greatest(coalesce(histogram[i], 0), 0);
  end loop;
  if total = 0 then
    return null;
  end if;
  position := fraction * (total - 1);
  low_rank := floor(position);
  high_rank := ceil(position);
  for i in 1 .. array_length(histogram, 1) loop
    cumulative := cumulative + greatest(coalesce(histogram[i], 0), 0);
    if low_value is null and cumulative > low_rank then
      low_value := public.genloop_latency_bucket_value(i);
    end if;
    if cumulative > high_rank then
      high_value := public.genloop_latency_bucket_value(i);
      exit;
    end if;
  end loop;
  return low_value + (position - low_rank) * (high_value - low_value);
end
$$;

CREATE FUNCTION public.genloop_latency_bucket(latency_ms integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case
      when latency_ms is null then null
      when latency_ms <= 0 then 1
      else least(2 + ceil(ln(latency_ms::double precision) / ln(21::double precision / 19))::integer, 153)
    end
  $$;

CREATE FUNCTION public.genloop_latency_bucket_value(bucket integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case
      when bucket is null then null
      when bucket <= 1 then 0::double precision
      else 0.95 * power(21::double precision / 19, bucket - 2)
    end
  $$;

CREATE FUNCTION public.genloop_notify_budgets() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  perform pg_notify('genloop_budgets', '');
  return null;
end
$$;

CREATE FUNCTION public.genloop_notify_generation_pending() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  if new.status = 'pending' then
    perform pg_notify('genloop_jobs', new.recipe);
  end if;
  return null;
end
$$;

CREATE FUNCTION public.genloop_notify_provider_configs() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  perform pg_notify('genloop_provider_configs', coalesce(new.environment, old.environment));
  return null;
end
$$;

CREATE FUNCTION public.genloop_owned_path(owner uuid, path text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $_$
    select path is null or (
      starts_with(path, owner::text || '/')
      and path !~ '(^|/)\.{0,2}(/|$)'
      and path !~ '[\\[:cntrl:]]'
    )
  $_$;

CREATE FUNCTION public.genloop_provider_hourly_stats(p_from timestamp with time zone, p_to timestamp with time zone DEFAULT now(), p_sources text[] DEFAULT ARRAY['generation'::text, 'generation_cached'::text]) RETURNS TABLE(bucket_start timestamp with time zone, selected_provider text, total_count bigint, succeeded_count bigint, failed_count bigint, fallback_count bigint, fallback_rate numeric, avg_latency_ms numeric, p50_latency_ms double precision, p95_latency_ms double precision, p99_latency_ms double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select
      g.bucket_start,
      nullif(g.selected_provider, 'none'),
      g.total_count,
      g.succeeded_count,
      g.failed_count,
      g.fallback_count,
      round(g.fallback_count::numeric / nullif(g.total_count, 0), 6),
      round(g.latency_sum_ms::numeric / nullif(g.latency_count, 0), 2),
      public.genloop_histogram_percentile(g.histogram, 0.5),
      public.genloop_histogram_percentile(g.histogram, 0.95),
      public.genloop_histogram_percentile(g.histogram, 0.99)
    from (
      select
        h.bucket_start,
        h.selected_provider,
        sum(h.total_count)::bigint as total_count,
        sum(h.succeeded_count)::bigint as succeeded_count,
        sum(h.failed_count)::bigint as failed_count,
        sum(h.fallback_count)::bigint as fallback_count,
        sum(h.latency_count)::bigint as latency_count,
        sum(h.latency_sum_ms)::bigint as latency_sum_ms,
        public.genloop_histogram_sum(h.latency_histogram) as histogram
      from public.ai_training_examples_hourly h
      where h.bucket_start >= date_trunc('hour', p_from at time zone 'UTC') at time zone 'UTC'
        and h.bucket_start < p_to
        and h.source = any (p_sources)
      group by h.bucket_start, h.selected_provider
    ) g
    order by 1, 2
  $$;

CREATE FUNCTION public.genloop_provider_stats(p_from timestamp with time zone, p_to timestamp with time zone DEFAULT now(), p_sources text[] DEFAULT ARRAY['generation'::text, 'generation_cached'::text]) RETURNS TABLE(selected_provider text, total_count bigint, succeeded_count bigint, failed_count bigint, fallback_count bigint, fallback_rate numeric, avg_latency_ms numeric, p50_latency_ms double precision, p95_latency_ms double precision, p99_latency_ms double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    with bounds as (
      select date_trunc('hour', p_from at time zone 'UTC') at time zone 'UTC' as hour_from
    ),
    parts as (
      select d.selected_provider, d.total_count, d.succeeded_count, d.failed_count,
             d.fallback_count, d.latency_count, d.latency_sum_ms, d.latency_histogram
        from public.ai_training_examples_daily d, bounds b
       where d.bucket_start >= b.hour_from
         and d.bucket_start + interval '23 hours' < p_to
         and d.source = any (p_sources)
      union all
      select h.selected_provider, h.total_count, h.succeeded_count, h.failed_count,
             h.fallback_count, h.latency_count, h.latency_sum_ms, h.latency_histogram
        from public.ai_training_examples_hourly h, bounds b
       where h.bucket_start >= b.hour_from
         and h.bucket_start < p_to
         and h.source = any (p_sources)
         and not (
           date_trunc('day', h.bucket_start at time zone 'UTC') at time zone 'UTC' >= b.hour_from
           and date_trunc('day', h.bucket_start at time zone 'UTC') at time zone 'UTC'
             + interval '23 hours' < p_to
         )
    )
    select
      nullif(g.selected_provider, 'none'),
      g.total_count,
      g.succeeded_count,
      g.failed_count,
      g.fallback_count,
      round(g.fallback_count::numeric / nullif(g.total_count, 0), 6),
      round(g.latency_sum_ms::numeric / nullif(g.latency_count, 0), 2),
      public.genloop_histogram_percentile(g.histogram, 0.5),
      public.genloop_histogram_percentile(g.histogram, 0.95),
      public.genloop_histogram_percentile(g.histogram, 0.99)
    from (
      select
        p.selected_provider,
        sum(p.total_count)::bigint as total_count,
        sum(p.succeeded_count)::bigint as succeeded_count,
        sum(p.failed_count)::bigint as failed_count,
        sum(p.fallback_count)::bigint as fallback_count,
        sum(p.latency_count)::bigint as latency_count,
        sum(p.latency_sum_ms)::bigint as latency_sum_ms,
        public.genloop_histogram_sum(p.latency_histogram) as histogram
      from parts p
      group by p.selected_provider
    ) g
    order by 1
  $$;

CREATE FUNCTION public.genloop_refresh_rollups(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  day_from timestamptz := date_trunc('day', p_from at time zone 'UTC') at time zone 'UTC';
  day_to timestamptz := date_trunc('day', (p_to at time zone 'UTC') - interval '1 microsecond')
    at time zone 'UTC' + interval '24 hours';
  raw_rows bigint;
  changes text;
begin
  if p_from is null or p_to is null or p_to <= p_from then
    raise exception 'genloop_refresh_rollups needs p_from < p_to (got % and %)', p_from, p_to
      using errcode = 'invalid_parameter_value';
  end if;
  lock table public.ai_training_examples_hourly, public.ai_training_examples_daily,
    public.ai_training_examples_user_daily, public.ai_training_examples_environment_hourly
    in exclusive mode;
  delete from public.ai_training_examples_hourly
    where bucket_start >= day_from and bucket_start < day_to;
  delete from public.ai_training_examples_daily
    where bucket_start >= day_from and bucket_start < day_to;
  delete from public.ai_training_examples_user_daily
    where bucket_start >= day_from and bucket_start < day_to;
  delete from public.ai_training_examples_environment_hourly
    where bucket_start >= day_from and bucket_start < day_to;
  changes := format(
    'select created_at, selected_provider, route_strategy, source, status, fallback_used,
            latency_ms, cost_usd, user_id, environment, 1 as sign
       from public.ai_training_examples
      where created_at >= %L and created_at < %L',
    day_from, day_to);
  execute public.genloop_rollup_apply_sql(changes);
  select coalesce(sum(total_count), 0) into raw_rows
    from public.ai_training_examples_daily
   where bucket_start >= day_from and bucket_start < day_to;
  return raw_rows;
end
$$;

CREATE FUNCTION public.genloop_reserve_budget(p_user uuid, p_reservation uuid, p_amount numeric, p_now timestamp with time zone) RETURNS TABLE(outcome text, limit_usd numeric, committed_usd numeric, period_start timestamp with time zone, resets_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_limit numeric;
  v_period text;
  v_start timestamptz;
  v_resets timestamptz;
  v_committed numeric;
begin
  perform pg_advisory_xact_lock(hashtextextended('genloop.budget:' || p_user::text, 0));
  select case when u.limit_usd is not null then u.limit_usd else p.limit_usd end,
         case when u.limit_usd is not null then u.period else p.period end
    into v_limit, v_period
    from public.budget_users u
    left join public.budget_plans p on p.name = u.plan
   where u.user_id = p_user and (u.limit_usd is not null or p.name is not null);
  if not found then
    return query select 'unlimited'::text, null::numeric, null::numeric, null::timestamptz,
                        null::timestamptz;
    return;
  end if;
  v_start := date_trunc(v_period, p_now, 'UTC');
  v_resets := v_start + case when v_period = 'day' then interval '1 day' else interval '1 month' end;
  select s.committed_usd into v_committed
    from public.budget_spend s
   where s.user_id = p_user and s.period_start = v_start;
  v_committed := coalesce(v_committed, 0);
  if exists (select 1 from public.budget_ledger l
              where l.idempotency_key = 'reserve:' || p_reservation::text) then
    return query select 'reserved'::text, v_limit, v_committed, v_start, v_resets;
    return;
  end if;
  if v_committed + p_amount > v_limit then
    return query select 'refused'::text, v_limit, v_committed, v_start, v_resets;
    return;
  end if;
  insert into public.budget_ledger
    (user_id, reservation_id, kind, amount_usd, period_start, idempotency_key)
  values (p_user, p_reservation, 'reserve', p_amount, v_start, 'reserve:' || p_reservation::text);
  return query select 'reserved'::text, v_limit, v_committed + p_amount, v_start, v_resets;
end
$$;

CREATE FUNCTION public.genloop_rollup_apply_sql(changes text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
    select format($sql$
with changes as materialized (%1$s),
fine as (
  select
    date_trunc('hour', c.created_at at time zone 'UTC') at time zone 'UTC' as hour_start,
    coalesce(c.selected_provider, 'none') as selected_provider,
    coalesce(c.route_strategy, 'none') as route_strategy,
    c.source,
    public.genloop_latency_bucket(c.latency_ms) as latency_bucket,
    sum(c.sign) as total_count,
    coalesce(sum(c.sign) filter (where c.status = 'succeeded'), 0) as succeeded_count,
    coalesce(sum(c.sign) filter (where c.status = 'failed'), 0) as failed_count,
    coalesce(sum(c.sign) filter (where c.fallback_used), 0) as fallback_count,
    coalesce(sum(c.sign * c.latency_ms::bigint), 0) as latency_sum_ms,
    coalesce(sum(c.sign * c.cost_usd), 0) as cost_usd,
    coalesce(sum(c.sign) filter (where c.cost_usd is not null), 0) as cost_count
  from changes c
  group by 1, 2, 3, 4, 5
),
deltas as (
  select
    grain.name as grain,
    case grain.name
      when 'hour' then f.hour_start
      else date_trunc('day', f.hour_start at time zone 'UTC') at time zone 'UTC'
    end as bucket_start,
    f.selected_provider,
    f.route_strategy,
    f.source,
    sum(f.total_count)::bigint as total_count,
    sum(f.succeeded_count)::bigint as succeeded_count,
    sum(f.failed_count)::bigint as failed_count,
    sum(f.fallback_count)::bigint as fallback_count,
    coalesce(sum(f.total_count) filter (where f.latency_bucket is not null), 0)::bigint
      as latency_count,
    sum(f.latency_sum_ms)::bigint as latency_sum_ms,
    public.genloop_histogram_from_buckets(
      array_agg(f.latency_bucket) filter (where f.latency_bucket is not null),
      array_agg(f.total_count::bigint) filter (where f.latency_bucket is not null)
    ) as latency_histogram,
    bool_or(f.latency_bucket is not null and f.total_count <> 0) as histogram_changed,
    sum(f.cost_usd) as cost_usd,
    sum(f.cost_count)::bigint as cost_count
  from fine f
  cross join (values ('hour'), ('day')) as grain(name)
  group by 1, 2, 3, 4, 5
),
changed as (
  select *
  from deltas d
  where d.histogram_changed
     or (d.total_count, d.succeeded_count, d.failed_count, d.fallback_count, d.latency_count,
         d.latency_sum_ms, d.cost_usd, d.cost_count) <> (0, 0, 0, 0, 0, 0, 0, 0)
),
hourly as (
  insert into public.ai_training_examples_hourly as r (
    bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
    failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
    cost_count
  )
  select bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
         failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
         cost_count
  from changed
  where grain = 'hour'
  order by bucket_start, selected_provider, route_strategy, source
  on conflict (bucket_start, selected_provider, route_strategy, source) do update set
    total_count = r.total_count + excluded.total_count,
    succeeded_count = r.succeeded_count + excluded.succeeded_count,
    failed_count = r.failed_count + excluded.failed_count,
    fallback_count = r.fallback_count + excluded.fallback_count,
    latency_count = r.latency_count + excluded.latency_count,
    latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
    latency_histogram =
      public.genloop_histogram_add(r.latency_histogram, excluded.latency_histogram),
    cost_usd = r.cost_usd + excluded.cost_usd,
    cost_count = r.cost_count + excluded.cost_count
),
users as (
  insert into public.ai_training_examples_user_daily as r (
    bucket_start, user_id, total_count, cost_count, cost_usd
  )
  select date_trunc('day', c.created_at at time zone 'UTC') at time zone 'UTC',
         c.user_id,
         sum(c.sign)::bigint,
         coalesce(sum(c.sign) filter (where c.cost_usd is not null), 0)::bigint,
         coalesce(sum(c.sign * c.cost_usd), 0)
  from changes c
  where c.user_id is not null
  group by 1, 2
  having (sum(c.sign), coalesce(sum(c.sign) filter (where c.cost_usd is not null), 0),
          coalesce(sum(c.sign * c.cost_usd), 0)) <> (0, 0, 0)
  order by 1, 2
  on conflict (bucket_start, user_id) do update set
    total_count = r.total_count + excluded.total_count,
    cost_count = r.cost_count + excluded.cost_count,
    cost_usd = r.cost_usd + excluded.cost_usd
),
environments as (
  insert into public.ai_training_examples_environment_hourly as r (
    bucket_start, environment, generation_count, cached_count
  )
  select date_trunc('hour', c.created_at at time zone 'UTC') at time zone 'UTC',
         c.environment,
         sum(c.sign)::bigint,
         coalesce(sum(c.sign) filter (where c.source = 'generation_cached'), 0)::bigint
  from changes c
  where c.environment is not null and c.source in ('generation', 'generation_cached')
  group by 1, 2
  having (sum(c.sign), coalesce(sum(c.sign) filter (where c.source = 'generation_cached'), 0))
         <> (0, 0)
  order by 1, 2
  on conflict (bucket_start, environment) do update set
    generation_count = r.generation_count + excluded.generation_count,
    cached_count = r.cached_count + excluded.cached_count
)
insert into public.ai_training_examples_daily as r (
  bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
  failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
  cost_count
)
select bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
       failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
       cost_count
from changed
where grain = 'day'
order by bucket_start, selected_provider, route_strategy, source
on conflict (bucket_start, selected_provider, route_strategy, source) do update set
  total_count = r.total_count + excluded.total_count,
  succeeded_count = r.succeeded_count + excluded.succeeded_count,
  failed_count = r.failed_count + excluded.failed_count,
  fallback_count = r.fallback_count + excluded.fallback_count,
  latency_count = r.latency_count + excluded.latency_count,
  latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
  latency_histogram = public.genloop_histogram_add(r.latency_histogram, excluded.latency_histogram),
  cost_usd = r.cost_usd + excluded.cost_usd,
  cost_count = r.cost_count + excluded.cost_count
$sql$, changes)
  $_$;

CREATE FUNCTION public.genloop_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  new.updated_at := now();
  return new;
end
$$;

CREATE FUNCTION public.genloop_training_examples_rollup() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  columns constant text := 'created_at, selected_provider, route_strategy, source, status, '
    || 'fallback_used, latency_ms, cost_usd, user_id, environment';
  changes text;
begin
  -- Retention removes raw rows the rollups must keep counting. Unset the setting reads null, and
  -- '' once a `set local` has ended, so only an explicit 'on' skips.
  if tg_op = 'DELETE' and current_setting('genloop.pruning', true) = 'on' then
    return null;
  end if;
  changes := case tg_op
    when 'INSERT' then format('select %s, 1 as sign from new_rows', columns)
    when 'DELETE' then format('select %s, -1 as sign from old_rows', columns)
    else format(
      'select %1$s, 1 as sign from new_rows union all select %1$s, -1 as sign from old_rows',
      columns)
  end;
  execute public.genloop_rollup_apply_sql(changes);
  return null;
end
$_$;

CREATE FUNCTION public.genloop_training_examples_rollup_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$begin
with changes as materialized (select created_at, selected_provider, route_strategy, source, status, fallback_used, latency_ms, cost_usd, user_id, environment, 1 as sign from new_rows),
fine as (
  select
    date_trunc('hour', c.created_at at time zone 'UTC') at time zone 'UTC' as hour_start,
    coalesce(c.selected_provider, 'none') as selected_provider,
    coalesce(c.route_strategy, 'none') as route_strategy,
    c.source,
    public.genloop_latency_bucket(c.latency_ms) as latency_bucket,
    sum(c.sign) as total_count,
    coalesce(sum(c.sign) filter (where c.status = 'succeeded'), 0) as succeeded_count,
    coalesce(sum(c.sign) filter (where c.status = 'failed'), 0) as failed_count,
    coalesce(sum(c.sign) filter (where c.fallback_used), 0) as fallback_count,
    coalesce(sum(c.sign * c.latency_ms::bigint), 0) as latency_sum_ms,
    coalesce(sum(c.sign * c.cost_usd), 0) as cost_usd,
    coalesce(sum(c.sign) filter (where c.cost_usd is not null), 0) as cost_count
  from changes c
  group by 1, 2, 3, 4, 5
),
deltas as (
  select
    grain.name as grain,
    case grain.name
      when 'hour' then f.hour_start
      else date_trunc('day', f.hour_start at time zone 'UTC') at time zone 'UTC'
    end as bucket_start,
    f.selected_provider,
    f.route_strategy,
    f.source,
    sum(f.total_count)::bigint as total_count,
    sum(f.succeeded_count)::bigint as succeeded_count,
    sum(f.failed_count)::bigint as failed_count,
    sum(f.fallback_count)::bigint as fallback_count,
    coalesce(sum(f.total_count) filter (where f.latency_bucket is not null), 0)::bigint
      as latency_count,
    sum(f.latency_sum_ms)::bigint as latency_sum_ms,
    public.genloop_histogram_from_buckets(
      array_agg(f.latency_bucket) filter (where f.latency_bucket is not null),
      array_agg(f.total_count::bigint) filter (where f.latency_bucket is not null)
    ) as latency_histogram,
    bool_or(f.latency_bucket is not null and f.total_count <> 0) as histogram_changed,
    sum(f.cost_usd) as cost_usd,
    sum(f.cost_count)::bigint as cost_count
  from fine f
  cross join (values ('hour'), ('day')) as grain(name)
  group by 1, 2, 3, 4, 5
),
changed as (
  select *
  from deltas d
  where d.histogram_changed
     or (d.total_count, d.succeeded_count, d.failed_count, d.fallback_count, d.latency_count,
         d.latency_sum_ms, d.cost_usd, d.cost_count) <> (0, 0, 0, 0, 0, 0, 0, 0)
),
hourly as (
  insert into public.ai_training_examples_hourly as r (
    bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
    failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
    cost_count
  )
  select bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
         failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
         cost_count
  from changed
  where grain = 'hour'
  order by bucket_start, selected_provider, route_strategy, source
  on conflict (bucket_start, selected_provider, route_strategy, source) do update set
    total_count = r.total_count + excluded.total_count,
    succeeded_count = r.succeeded_count + excluded.succeeded_count,
    failed_count = r.failed_count + excluded.failed_count,
    fallback_count = r.fallback_count + excluded.fallback_count,
    latency_count = r.latency_count + excluded.latency_count,
    latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
    latency_histogram =
      public.genloop_histogram_add(r.latency_histogram, excluded.latency_histogram),
    cost_usd = r.cost_usd + excluded.cost_usd,
    cost_count = r.cost_count + excluded.cost_count
),
users as (
  insert into public.ai_training_examples_user_daily as r (
    bucket_start, user_id, total_count, cost_count, cost_usd
  )
  select date_trunc('day', c.created_at at time zone 'UTC') at time zone 'UTC',
         c.user_id,
         sum(c.sign)::bigint,
         coalesce(sum(c.sign) filter (where c.cost_usd is not null), 0)::bigint,
         coalesce(sum(c.sign * c.cost_usd), 0)
  from changes c
  where c.user_id is not null
  group by 1, 2
  having (sum(c.sign), coalesce(sum(c.sign) filter (where c.cost_usd is not null), 0),
          coalesce(sum(c.sign * c.cost_usd), 0)) <> (0, 0, 0)
  order by 1, 2
  on conflict (bucket_start, user_id) do update set
    total_count = r.total_count + excluded.total_count,
    cost_count = r.cost_count + excluded.cost_count,
    cost_usd = r.cost_usd + excluded.cost_usd
),
environments as (
  insert into public.ai_training_examples_environment_hourly as r (
    bucket_start, environment, generation_count, cached_count
  )
  select date_trunc('hour', c.created_at at time zone 'UTC') at time zone 'UTC',
         c.environment,
         sum(c.sign)::bigint,
         coalesce(sum(c.sign) filter (where c.source = 'generation_cached'), 0)::bigint
  from changes c
  where c.environment is not null and c.source in ('generation', 'generation_cached')
  group by 1, 2
  having (sum(c.sign), coalesce(sum(c.sign) filter (where c.source = 'generation_cached'), 0))
         <> (0, 0)
  order by 1, 2
  on conflict (bucket_start, environment) do update set
    generation_count = r.generation_count + excluded.generation_count,
    cached_count = r.cached_count + excluded.cached_count
)
insert into public.ai_training_examples_daily as r (
  bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
  failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
  cost_count
)
select bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
       failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram, cost_usd,
       cost_count
from changed
where grain = 'day'
order by bucket_start, selected_provider, route_strategy, source
on conflict (bucket_start, selected_provider, route_strategy, source) do update set
  total_count = r.total_count + excluded.total_count,
  succeeded_count = r.succeeded_count + excluded.succeeded_count,
  failed_count = r.failed_count + excluded.failed_count,
  fallback_count = r.fallback_count + excluded.fallback_count,
  latency_count = r.latency_count + excluded.latency_count,
  latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
  latency_histogram = public.genloop_histogram_add(r.latency_histogram, excluded.latency_histogram),
  cost_usd = r.cost_usd + excluded.cost_usd,
  cost_count = r.cost_count + excluded.cost_count
; return null; end$$;

CREATE FUNCTION public.genloop_training_examples_rollup_sql_for_insert() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select 'begin ' || public.genloop_rollup_apply_sql(
      'select created_at, selected_provider, route_strategy, source, status, fallback_used, '
      || 'latency_ms, cost_usd, user_id, environment, 1 as sign from new_rows')
      || '; return null; end'
  $$;

CREATE AGGREGATE public.genloop_histogram_sum(bigint[]) (
    SFUNC = public.genloop_histogram_add,
    STYPE = bigint[],
    COMBINEFUNC = public.genloop_histogram_add,
    PARALLEL = safe
);

CREATE TABLE genloop.schema_migrations (
    version text NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    duration_ms integer
);

CREATE TABLE public.ai_canary_checks (
    id bigint NOT NULL,
    run_id bigint NOT NULL,
    step_index integer NOT NULL,
    weight integer NOT NULL,
    window_start timestamp with time zone NOT NULL,
    checked_at timestamp with time zone DEFAULT now() NOT NULL,
    verdict text NOT NULL,
    decision text NOT NULL,
    candidate jsonb NOT NULL,
    baseline jsonb NOT NULL,
    guardrails jsonb DEFAULT '[]'::jsonb NOT NULL,
    reason text NOT NULL,
    log_id bigint,
    CONSTRAINT ai_canary_checks_decision_check CHECK ((decision = ANY (ARRAY['hold'::text, 'step'::text, 'promote'::text, 'rollback'::text, 'halt'::text]))),
    CONSTRAINT ai_canary_checks_verdict_check CHECK ((verdict = ANY (ARRAY['passed'::text, 'failed'::text, 'inconclusive'::text])))
);

ALTER TABLE public.ai_canary_checks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_canary_checks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.ai_canary_runs (
    id bigint NOT NULL,
    environment text NOT NULL,
    candidate_provider text NOT NULL,
    status text DEFAULT 'progressing'::text NOT NULL,
    steps integer[] NOT NULL,
    current_step integer DEFAULT 0 NOT NULL,
    baseline jsonb NOT NULL,
    operator text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    interval_ms integer DEFAULT 600000 NOT NULL,
    min_samples integer DEFAULT 30 NOT NULL,
    max_failed_checks integer DEFAULT 2 NOT NULL,
    max_fallback_rate numeric DEFAULT 0.05 NOT NULL,
    max_p95_ms integer,
    min_schema_valid numeric DEFAULT 0.99 NOT NULL,
    step_started_at timestamp with time zone DEFAULT now() NOT NULL,
    next_check_at timestamp with time zone DEFAULT now() NOT NULL,
    failed_checks integer DEFAULT 0 NOT NULL,
    inconclusive_checks integer DEFAULT 0 NOT NULL,
    notify_url text,
    notify_secret text,
    reason text,
    CONSTRAINT ai_canary_runs_current_step_check CHECK (((current_step >= 0) AND (current_step < cardinality(steps)))),
    CONSTRAINT ai_canary_runs_finished_check CHECK (((status = ANY (ARRAY['progressing'::text, 'halted'::text])) = (finished_at IS NULL))),
    CONSTRAINT ai_canary_runs_provider_check CHECK ((candidate_provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))),
    CONSTRAINT ai_canary_runs_status_check CHECK ((status = ANY (ARRAY['progressing'::text, 'promoted'::text, 'rolled_back'::text, 'halted'::text, 'aborted'::text]))),
    CONSTRAINT ai_canary_runs_steps_check CHECK (((cardinality(steps) >= 1) AND (steps[cardinality(steps)] = 100) AND (0 < ALL (steps)) AND (100 >= ALL (steps)))),
    CONSTRAINT ai_canary_runs_thresholds_check CHECK ((((interval_ms >= 1000) AND (interval_ms <= 86400000)) AND (min_samples >= 1) AND (max_failed_checks >= 0) AND ((max_fallback_rate >= (0)::numeric) AND (max_fallback_rate <= (1)::numeric)) AND ((min_schema_valid >= (0)::numeric) AND (min_schema_valid <= (1)::numeric)) AND ((max_p95_ms IS NULL) OR (max_p95_ms > 0)) AND (failed_checks >= 0) AND (inconclusive_checks >= 0)))
);

COMMENT ON COLUMN public.ai_canary_runs.current_step IS 'index into steps (0-based) of the weight the candidate has now';

COMMENT ON COLUMN public.ai_canary_runs.baseline IS 'the environment''s ai_provider_configs rows as they were before the canary started; a rollback or an abort puts them back exactly';

COMMENT ON COLUMN public.ai_canary_runs.step_started_at IS 'start of the current step: each check measures telemetry since then';

COMMENT ON COLUMN public.ai_canary_runs.inconclusive_checks IS 'checks in a row with fewer first tries to the candidate than min_samples';

COMMENT ON COLUMN public.ai_canary_runs.notify_secret IS 'Standard Webhooks secret (whsec_) the decisions posted to notify_url are signed with';

ALTER TABLE public.ai_canary_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_canary_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE VIEW public.ai_eval_run_summary_v1 AS
SELECT
    NULL::bigint AS run_id,
    NULL::text AS run_type,
    NULL::text AS schema_variant,
    NULL::text AS status,
    NULL::text AS triggered_by,
    NULL::timestamp with time zone AS started_at,
    NULL::timestamp with time zone AS finished_at,
    NULL::integer AS sample_count,
    NULL::numeric AS schema_valid_rate,
    NULL::numeric AS patch_apply_success,
    NULL::numeric AS edit_after_generate_rate,
    NULL::numeric AS publish_conversion_proxy,
    NULL::numeric AS safety_html_tailwind_compliance,
    NULL::numeric AS fallback_rate,
    NULL::numeric AS p95_latency_ms;

CREATE TABLE public.ai_eval_runs (
    id bigint NOT NULL,
    run_type text DEFAULT 'manual'::text NOT NULL,
    schema_variant text DEFAULT 'generic'::text NOT NULL,
    triggered_by text,
    trigger_ref text,
    git_sha text,
    thresholds jsonb DEFAULT '{}'::jsonb NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    sample_count integer DEFAULT 0 NOT NULL,
    report jsonb,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_eval_runs_schema_variant_check CHECK ((schema_variant = ANY (ARRAY['sitecraft'::text, 'flashcards'::text, 'interior'::text, 'generic'::text]))),
    CONSTRAINT ai_eval_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'passed'::text, 'failed'::text, 'aborted'::text]))),
    CONSTRAINT ai_eval_runs_terminal_has_finished_at CHECK (((status = 'running'::text) = (finished_at IS NULL))),
    CONSTRAINT ai_eval_runs_thresholds_is_object CHECK ((jsonb_typeof(thresholds) = 'object'::text))
);

CREATE VIEW public.ai_eval_failed_gates_v1 WITH (security_invoker='true') AS
 SELECT s.run_id,
    g.gate,
    g.metric,
    ((r.thresholds ->> g.gate))::numeric AS threshold,
    g.value
   FROM ((public.ai_eval_run_summary_v1 s
     JOIN public.ai_eval_runs r ON ((r.id = s.run_id)))
     CROSS JOIN LATERAL ( VALUES ('schema_valid_rate_min'::text,'schema_valid_rate'::text,'min'::text,s.schema_valid_rate), ('patch_apply_success_min'::text,'patch_apply_success'::text,'min'::text,s.patch_apply_success), ('edit_after_generate_rate_min'::text,'edit_after_generate_rate'::text,'min'::text,s.edit_after_generate_rate), ('publish_conversion_proxy_min'::text,'publish_conversion_proxy'::text,'min'::text,s.publish_conversion_proxy), ('safety_html_tailwind_compliance_min'::text,'safety_html_tailwind_compliance'::text,'min'::text,s.safety_html_tailwind_compliance), ('fallback_rate_max'::text,'fallback_rate'::text,'max'::text,s.fallback_rate), ('p95_latency_ms_max'::text,'p95_latency_ms'::text,'max'::text,s.p95_latency_ms)) g(gate, metric, kind, value))
  WHERE ((r.status <> 'aborted'::text) AND (r.thresholds ? g.gate) AND ((g.value IS NULL) OR ((g.kind = 'min'::text) AND (g.value < ((r.thresholds ->> g.gate))::numeric)) OR ((g.kind = 'max'::text) AND (g.value > ((r.thresholds ->> g.gate))::numeric))));

ALTER TABLE public.ai_eval_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_eval_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.ai_eval_samples (
    id bigint NOT NULL,
    run_id bigint NOT NULL,
    record_id text NOT NULL,
    record_created_at timestamp with time zone,
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
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_eval_samples_latency_ms_check CHECK ((latency_ms >= 0))
);

ALTER TABLE public.ai_eval_samples ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_eval_samples_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.ai_generations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    recipe text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    source_text text,
    model text,
    prompt_version text,
    mode text,
    input jsonb DEFAULT '{}'::jsonb NOT NULL,
    output jsonb,
    request_id uuid,
    idempotency_key text,
    run_after timestamp with time zone DEFAULT now() NOT NULL,
    lease_until timestamp with time zone,
    locked_by text,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 3 NOT NULL,
    error jsonb,
    ai_metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    tokens_input integer,
    tokens_output integer,
    cost_usd numeric(12,6),
    provider text,
    provider_prediction_id text,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_generations_attempts_check CHECK (((attempts >= 0) AND (max_attempts >= 1))),
    CONSTRAINT ai_generations_mode_check CHECK (((mode IS NULL) OR (mode = ANY (ARRAY['redesign'::text, 'staging'::text, 'compose'::text, 'imagine'::text])))),
    CONSTRAINT ai_generations_provider_check CHECK ((provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))),
    CONSTRAINT ai_generations_recipe_check CHECK ((recipe = ANY (ARRAY['flashcards'::text, 'interior'::text, 'site'::text]))),
    CONSTRAINT ai_generations_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'succeeded'::text, 'failed'::text, 'canceled'::text, 'timed_out'::text]))),
    CONSTRAINT ai_generations_terminal_has_finished_at CHECK (((status = ANY (ARRAY['succeeded'::text, 'failed'::text, 'canceled'::text, 'timed_out'::text])) = (finished_at IS NOT NULL))),
    CONSTRAINT ai_generations_usage_check CHECK (((tokens_input >= 0) AND (tokens_output >= 0) AND (cost_usd >= (0)::numeric)))
);
ALTER TABLE ONLY public.ai_generations ALTER COLUMN source_text SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_generations ALTER COLUMN input SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_generations ALTER COLUMN output SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_generations ALTER COLUMN error SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_generations ALTER COLUMN ai_metadata SET COMPRESSION lz4;

CREATE TABLE public.ai_provider_attempts (
    id bigint NOT NULL,
    request_id uuid NOT NULL,
    generation_id uuid,
    attempt_no integer NOT NULL,
    provider text NOT NULL,
    model text,
    status text NOT NULL,
    error_class text,
    http_status integer,
    latency_ms integer,
    ttfb_ms integer,
    retry_after_ms integer,
    error jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    training_example_id uuid,
    cost_usd numeric(18,10),
    CONSTRAINT ai_provider_attempts_attempt_no_check CHECK ((attempt_no >= 1)),
    CONSTRAINT ai_provider_attempts_cost_usd_check CHECK ((cost_usd >= (0)::numeric)),
    CONSTRAINT ai_provider_attempts_error_class_check CHECK ((error_class = ANY (ARRAY['rate_limited'::text, 'server_error'::text, 'timeout'::text, 'network'::text, 'bad_request'::text, 'auth'::text, 'content_policy'::text, 'invalid_output'::text, 'stream_cut'::text, 'canceled'::text, 'unknown'::text]))),
    CONSTRAINT ai_provider_attempts_failure_has_class CHECK (((status = 'succeeded'::text) OR (error_class IS NOT NULL))),
    CONSTRAINT ai_provider_attempts_provider_check CHECK ((provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))),
    CONSTRAINT ai_provider_attempts_status_check CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text, 'timeout'::text, 'aborted'::text]))),
    CONSTRAINT ai_provider_attempts_timings_check CHECK (((latency_ms >= 0) AND (ttfb_ms >= 0) AND (retry_after_ms >= 0)))
);
ALTER TABLE ONLY public.ai_provider_attempts ALTER COLUMN error SET COMPRESSION lz4;

COMMENT ON COLUMN public.ai_provider_attempts.training_example_id IS 'ai_training_examples.id of the generation this attempt belongs to; null only on attempts written before it existed whose request_id names no single training row';

ALTER TABLE public.ai_provider_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_provider_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.ai_provider_configs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider text NOT NULL,
    environment text NOT NULL,
    enabled boolean DEFAULT false NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    weight integer DEFAULT 0 NOT NULL,
    timeout_ms integer DEFAULT 30000 NOT NULL,
    max_retries integer DEFAULT 2 NOT NULL,
    model text,
    prompt_template_version text DEFAULT 'v1'::text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_provider_configs_default_is_enabled CHECK (((NOT is_default) OR enabled)),
    CONSTRAINT ai_provider_configs_environment_check CHECK ((environment ~ '^[a-z][a-z0-9_-]{0,31}$'::text)),
    CONSTRAINT ai_provider_configs_max_retries_check CHECK (((max_retries >= 0) AND (max_retries <= 10))),
    CONSTRAINT ai_provider_configs_metadata_is_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT ai_provider_configs_prompt_template_version_check CHECK ((btrim(prompt_template_version) <> ''::text)),
    CONSTRAINT ai_provider_configs_provider_check CHECK ((provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))),
    CONSTRAINT ai_provider_configs_timeout_ms_check CHECK (((timeout_ms >= 1) AND (timeout_ms <= 600000))),
    CONSTRAINT ai_provider_configs_weight_check CHECK (((weight >= 0) AND (weight <= 100)))
);

CREATE TABLE public.ai_provider_health (
    provider text NOT NULL,
    environment text NOT NULL,
    consecutive_failures integer DEFAULT 0 NOT NULL,
    cooldown_until timestamp with time zone,
    last_error_class text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_provider_health_failures_check CHECK ((consecutive_failures >= 0))
);

CREATE TABLE public.ai_response_cache (
    cache_key text NOT NULL,
    recipe text NOT NULL,
    provider text NOT NULL,
    model text,
    response jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    scope text,
    request_hash text,
    CONSTRAINT ai_response_cache_scope_check CHECK ((((scope IS NULL) = (request_hash IS NULL)) AND ((request_hash IS NULL) OR (request_hash ~ '^[0-9a-f]{64}$'::text))))
);
ALTER TABLE ONLY public.ai_response_cache ALTER COLUMN response SET COMPRESSION lz4;

CREATE TABLE public.ai_rollout_log (
    id bigint NOT NULL,
    environment text NOT NULL,
    action text NOT NULL,
    operator text NOT NULL,
    status text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    verification jsonb,
    rollback_test_result text,
    saved_state jsonb,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_rollout_log_action_check CHECK ((action = ANY (ARRAY['apply'::text, 'verify'::text, 'rollback'::text, 'restore'::text, 'canary_start'::text, 'canary_step'::text, 'canary_check'::text, 'canary_halt'::text, 'canary_rollback'::text, 'canary_abort'::text, 'canary_complete'::text, 'note'::text, 'provider_update'::text]))),
    CONSTRAINT ai_rollout_log_status_check CHECK ((status = ANY (ARRAY['ok'::text, 'failed'::text, 'info'::text])))
);

ALTER TABLE public.ai_rollout_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_rollout_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.ai_semantic_cache (
    id bigint NOT NULL,
    scope text NOT NULL,
    context_hash text NOT NULL,
    request_hash text NOT NULL,
    embedding extensions.vector(256) NOT NULL,
    provider text NOT NULL,
    model text,
    response jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT ai_semantic_cache_hashes_check CHECK (((context_hash ~ '^[0-9a-f]{64}$'::text) AND (request_hash ~ '^[0-9a-f]{64}$'::text)))
);

ALTER TABLE public.ai_semantic_cache ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ai_semantic_cache_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.ai_suggestions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    generation_id uuid NOT NULL,
    user_id uuid NOT NULL,
    "position" integer NOT NULL,
    front text NOT NULL,
    back text NOT NULL,
    status text DEFAULT 'proposed'::text NOT NULL,
    edited boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_suggestions_back_check CHECK (((char_length(back) >= 1) AND (char_length(back) <= 5000))),
    CONSTRAINT ai_suggestions_front_check CHECK (((char_length(front) >= 1) AND (char_length(front) <= 2000))),
    CONSTRAINT ai_suggestions_status_check CHECK ((status = ANY (ARRAY['proposed'::text, 'accepted'::text, 'rejected'::text])))
);

CREATE TABLE public.ai_training_examples (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid,
    source text DEFAULT 'generation'::text NOT NULL,
    prompt text,
    input jsonb,
    output jsonb,
    model text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    request_id uuid,
    requested_provider text,
    selected_provider text,
    route_strategy text,
    fallback_provider text,
    fallback_used boolean DEFAULT false NOT NULL,
    latency_ms integer,
    prompt_template_version text,
    status text,
    recipe text,
    generation_id uuid,
    error jsonb,
    tokens_input integer,
    tokens_output integer,
    cost_usd numeric(12,6),
    schema_valid boolean,
    patch_apply_success boolean,
    edit_after_generate boolean,
    publish_conversion boolean,
    safety_compliant boolean,
    environment text,
    planned_provider text,
    CONSTRAINT ai_training_examples_provider_names_check CHECK ((((requested_provider IS NULL) OR (requested_provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))) AND ((selected_provider IS NULL) OR (selected_provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))) AND ((fallback_provider IS NULL) OR (fallback_provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text]))))),
    CONSTRAINT ai_training_examples_recipe_check CHECK ((recipe = ANY (ARRAY['site'::text, 'flashcards'::text, 'interior'::text, 'gateway'::text]))),
    CONSTRAINT ai_training_examples_route_strategy_check CHECK ((route_strategy = ANY (ARRAY['single_provider'::text, 'weighted'::text, 'fallback'::text]))),
    CONSTRAINT ai_training_examples_rule1_selected_provider CHECK (((status IS DISTINCT FROM 'succeeded'::text) OR (selected_provider IS NOT NULL))),
    CONSTRAINT ai_training_examples_rule2_fallback_provider CHECK (((NOT fallback_used) OR (fallback_provider IS NOT NULL))),
    CONSTRAINT ai_training_examples_rule3_latency_ms CHECK ((latency_ms >= 0)),
    CONSTRAINT ai_training_examples_rule4_prompt_template_version CHECK ((btrim(prompt_template_version) <> ''::text)),
    CONSTRAINT ai_training_examples_runtime_fields_required CHECK (((status IS NULL) OR ((request_id IS NOT NULL) AND (route_strategy IS NOT NULL) AND (prompt_template_version IS NOT NULL)))),
    CONSTRAINT ai_training_examples_source_check CHECK ((source = ANY (ARRAY['generation'::text, 'generation_cached'::text, 'patch'::text, 'import'::text, 'manual'::text, 'eval'::text]))),
    CONSTRAINT ai_training_examples_status_check CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text]))),
    CONSTRAINT ai_training_examples_tokens_check CHECK (((tokens_input >= 0) AND (tokens_output >= 0) AND (cost_usd >= (0)::numeric)))
);
ALTER TABLE ONLY public.ai_training_examples ALTER COLUMN prompt SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_training_examples ALTER COLUMN input SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_training_examples ALTER COLUMN output SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_training_examples ALTER COLUMN metadata SET COMPRESSION lz4;
ALTER TABLE ONLY public.ai_training_examples ALTER COLUMN error SET COMPRESSION lz4;

COMMENT ON COLUMN public.ai_training_examples.environment IS 'routing environment (GENLOOP_ENV) whose ai_provider_configs planned the route; null on rows written before it was recorded';

COMMENT ON COLUMN public.ai_training_examples.planned_provider IS 'provider the route strategy chose first (requested, recipe default, weighted draw or environment default), also when a cooldown moved it back; null for cached answers and rows written before it was recorded';

CREATE TABLE public.ai_training_examples_daily (
    bucket_start timestamp with time zone NOT NULL,
    selected_provider text NOT NULL,
    route_strategy text NOT NULL,
    source text NOT NULL,
    total_count bigint DEFAULT 0 NOT NULL,
    succeeded_count bigint DEFAULT 0 NOT NULL,
    failed_count bigint DEFAULT 0 NOT NULL,
    fallback_count bigint DEFAULT 0 NOT NULL,
    latency_count bigint DEFAULT 0 NOT NULL,
    latency_sum_ms bigint DEFAULT 0 NOT NULL,
    latency_histogram bigint[] NOT NULL,
    cost_usd numeric(20,6) DEFAULT 0 NOT NULL,
    cost_count bigint DEFAULT 0 NOT NULL
)
WITH (fillfactor='70');

CREATE TABLE public.ai_training_examples_environment_hourly (
    bucket_start timestamp with time zone NOT NULL,
    environment text NOT NULL,
    generation_count bigint DEFAULT 0 NOT NULL,
    cached_count bigint DEFAULT 0 NOT NULL
)
WITH (fillfactor='70');

CREATE TABLE public.ai_training_examples_hourly (
    bucket_start timestamp with time zone NOT NULL,
    selected_provider text NOT NULL,
    route_strategy text NOT NULL,
    source text NOT NULL,
    total_count bigint DEFAULT 0 NOT NULL,
    succeeded_count bigint DEFAULT 0 NOT NULL,
    failed_count bigint DEFAULT 0 NOT NULL,
    fallback_count bigint DEFAULT 0 NOT NULL,
    latency_count bigint DEFAULT 0 NOT NULL,
    latency_sum_ms bigint DEFAULT 0 NOT NULL,
    latency_histogram bigint[] NOT NULL,
    cost_usd numeric(20,6) DEFAULT 0 NOT NULL,
    cost_count bigint DEFAULT 0 NOT NULL
)
WITH (fillfactor='70');

CREATE TABLE public.ai_training_examples_user_daily (
    bucket_start timestamp with time zone NOT NULL,
    user_id uuid NOT NULL,
    total_count bigint DEFAULT 0 NOT NULL,
    cost_count bigint DEFAULT 0 NOT NULL,
    cost_usd numeric(20,6) DEFAULT 0 NOT NULL
)
WITH (fillfactor='70');

CREATE TABLE public.budget_ledger (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    reservation_id uuid NOT NULL,
    kind text NOT NULL,
    amount_usd numeric(18,10) NOT NULL,
    cost_usd numeric(18,10),
    period_start timestamp with time zone NOT NULL,
    idempotency_key text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT budget_ledger_kind_check CHECK ((kind = ANY (ARRAY['reserve'::text, 'settle'::text, 'refund'::text])))
);

ALTER TABLE public.budget_ledger ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.budget_ledger_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.budget_plans (
    name text NOT NULL,
    limit_usd numeric(16,8) NOT NULL,
    period text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT budget_plans_limit_check CHECK (((limit_usd >= (0)::numeric) AND (limit_usd <= (1000000)::numeric))),
    CONSTRAINT budget_plans_name_check CHECK ((name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT budget_plans_period_check CHECK ((period = ANY (ARRAY['day'::text, 'month'::text])))
);

CREATE TABLE public.budget_spend (
    user_id uuid NOT NULL,
    period_start timestamp with time zone NOT NULL,
    committed_usd numeric(18,10) DEFAULT 0 NOT NULL,
    settled_cost_usd numeric(18,10) DEFAULT 0 NOT NULL
);

CREATE TABLE public.budget_users (
    user_id uuid NOT NULL,
    plan text,
    limit_usd numeric(16,8),
    period text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT budget_users_limit_check CHECK (((limit_usd >= (0)::numeric) AND (limit_usd <= (1000000)::numeric))),
    CONSTRAINT budget_users_override_check CHECK (((limit_usd IS NULL) = (period IS NULL))),
    CONSTRAINT budget_users_period_check CHECK ((period = ANY (ARRAY['day'::text, 'month'::text])))
);

CREATE TABLE public.cards (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    front text NOT NULL,
    back text NOT NULL,
    source text DEFAULT 'manual'::text NOT NULL,
    suggestion_id uuid,
    generation_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT cards_back_check CHECK (((char_length(back) >= 1) AND (char_length(back) <= 5000))),
    CONSTRAINT cards_front_check CHECK (((char_length(front) >= 1) AND (char_length(front) <= 2000))),
    CONSTRAINT cards_source_check CHECK ((source = ANY (ARRAY['manual'::text, 'ai'::text, 'ai_edited'::text])))
);

CREATE TABLE public.genloop_leases (
    name text NOT NULL,
    holder text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.idempotency_keys (
    user_id uuid NOT NULL,
    key text NOT NULL,
    scope text NOT NULL,
    request_hash text NOT NULL,
    status text DEFAULT 'in_progress'::text NOT NULL,
    response_status integer,
    response_body jsonb,
    resource_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone DEFAULT (now() + '24:00:00'::interval) NOT NULL,
    CONSTRAINT idempotency_keys_key_check CHECK (((char_length(key) >= 1) AND (char_length(key) <= 255))),
    CONSTRAINT idempotency_keys_status_check CHECK ((status = ANY (ARRAY['in_progress'::text, 'completed'::text])))
);
ALTER TABLE ONLY public.idempotency_keys ALTER COLUMN response_body SET COMPRESSION lz4;

CREATE TABLE public.rate_limits (
    key text NOT NULL,
    hits timestamp with time zone[] DEFAULT '{}'::timestamp with time zone[] NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.render_variants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    render_id uuid NOT NULL,
    user_id uuid NOT NULL,
    idx integer NOT NULL,
    bucket text NOT NULL,
    path text NOT NULL,
    thumbnail_path text,
    content_type text DEFAULT 'image/webp'::text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    size_bytes bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT render_variants_dimensions_check CHECK (((width > 0) AND (height > 0) AND (size_bytes > 0))),
    CONSTRAINT render_variants_path_owned CHECK ((public.genloop_owned_path(user_id, path) AND public.genloop_owned_path(user_id, thumbnail_path)))
);

CREATE TABLE public.renders (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    generation_id uuid NOT NULL,
    mode text NOT NULL,
    style text,
    room_type text,
    prompt text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT renders_mode_check CHECK ((mode = ANY (ARRAY['redesign'::text, 'staging'::text, 'compose'::text, 'imagine'::text])))
);

CREATE TABLE public.uploads (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    generation_id uuid,
    bucket text NOT NULL,
    path text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL,
    width integer,
    height integer,
    sha256 text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT uploads_dimensions_check CHECK (((width > 0) AND (height > 0))),
    CONSTRAINT uploads_path_owned CHECK (public.genloop_owned_path(user_id, path)),
    CONSTRAINT uploads_size_check CHECK ((size_bytes > 0))
);

CREATE TABLE public.usage_ledger (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    generation_id uuid,
    kind text NOT NULL,
    amount integer NOT NULL,
    period date DEFAULT (date_trunc('month'::text, timezone('utc'::text, now())))::date NOT NULL,
    idempotency_key text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT usage_ledger_kind_check CHECK ((kind = ANY (ARRAY['reserve'::text, 'settle'::text, 'refund'::text, 'grant'::text, 'adjust'::text])))
);

CREATE TABLE public.webhook_events (
    webhook_id text NOT NULL,
    source text NOT NULL,
    prediction_id text,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY genloop.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.ai_canary_checks
    ADD CONSTRAINT ai_canary_checks_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_canary_runs
    ADD CONSTRAINT ai_canary_runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_eval_runs
    ADD CONSTRAINT ai_eval_runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_eval_samples
    ADD CONSTRAINT ai_eval_samples_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_generations
    ADD CONSTRAINT ai_generations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_provider_attempts
    ADD CONSTRAINT ai_provider_attempts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_provider_attempts
    ADD CONSTRAINT ai_provider_attempts_training_example_attempt_key UNIQUE (training_example_id, attempt_no);

ALTER TABLE public.ai_provider_attempts
    ADD CONSTRAINT ai_provider_attempts_training_example_required CHECK ((training_example_id IS NOT NULL)) NOT VALID;

ALTER TABLE ONLY public.ai_provider_configs
    ADD CONSTRAINT ai_provider_configs_one_default_per_environment EXCLUDE USING btree (environment WITH =) WHERE (is_default) DEFERRABLE;

ALTER TABLE ONLY public.ai_provider_configs
    ADD CONSTRAINT ai_provider_configs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_provider_configs
    ADD CONSTRAINT ai_provider_configs_provider_environment_key UNIQUE (provider, environment);

ALTER TABLE ONLY public.ai_provider_health
    ADD CONSTRAINT ai_provider_health_pkey PRIMARY KEY (provider, environment);

ALTER TABLE ONLY public.ai_response_cache
    ADD CONSTRAINT ai_response_cache_pkey PRIMARY KEY (cache_key);

ALTER TABLE ONLY public.ai_rollout_log
    ADD CONSTRAINT ai_rollout_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_semantic_cache
    ADD CONSTRAINT ai_semantic_cache_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_suggestions
    ADD CONSTRAINT ai_suggestions_generation_position_key UNIQUE (generation_id, "position");

ALTER TABLE ONLY public.ai_suggestions
    ADD CONSTRAINT ai_suggestions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_training_examples_daily
    ADD CONSTRAINT ai_training_examples_daily_pkey PRIMARY KEY (bucket_start, selected_provider, route_strategy, source);

ALTER TABLE ONLY public.ai_training_examples_environment_hourly
    ADD CONSTRAINT ai_training_examples_environment_hourly_pkey PRIMARY KEY (bucket_start, environment);

ALTER TABLE ONLY public.ai_training_examples_hourly
    ADD CONSTRAINT ai_training_examples_hourly_pkey PRIMARY KEY (bucket_start, selected_provider, route_strategy, source);

ALTER TABLE ONLY public.ai_training_examples
    ADD CONSTRAINT ai_training_examples_pkey PRIMARY KEY (id);

ALTER TABLE public.ai_training_examples
    ADD CONSTRAINT ai_training_examples_planned_provider_check CHECK (((planned_provider IS NULL) OR (planned_provider = ANY (ARRAY['openai'::text, 'custom'::text, 'openrouter'::text, 'replicate'::text])))) NOT VALID;

ALTER TABLE ONLY public.ai_training_examples_user_daily
    ADD CONSTRAINT ai_training_examples_user_daily_pkey PRIMARY KEY (bucket_start, user_id);

ALTER TABLE ONLY public.budget_ledger
    ADD CONSTRAINT budget_ledger_idempotency_key_key UNIQUE (idempotency_key);

ALTER TABLE ONLY public.budget_ledger
    ADD CONSTRAINT budget_ledger_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.budget_plans
    ADD CONSTRAINT budget_plans_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.budget_spend
    ADD CONSTRAINT budget_spend_pkey PRIMARY KEY (user_id, period_start);

ALTER TABLE ONLY public.budget_users
    ADD CONSTRAINT budget_users_pkey PRIMARY KEY (user_id);

ALTER TABLE ONLY public.cards
    ADD CONSTRAINT cards_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.cards
    ADD CONSTRAINT cards_suggestion_id_key UNIQUE (suggestion_id);

ALTER TABLE ONLY public.genloop_leases
    ADD CONSTRAINT genloop_leases_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, key);

ALTER TABLE ONLY public.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (key);

ALTER TABLE ONLY public.render_variants
    ADD CONSTRAINT render_variants_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.render_variants
    ADD CONSTRAINT render_variants_render_idx_key UNIQUE (render_id, idx);

ALTER TABLE ONLY public.renders
    ADD CONSTRAINT renders_generation_id_key UNIQUE (generation_id);

ALTER TABLE ONLY public.renders
    ADD CONSTRAINT renders_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.uploads
    ADD CONSTRAINT uploads_bucket_path_key UNIQUE (bucket, path);

ALTER TABLE ONLY public.uploads
    ADD CONSTRAINT uploads_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usage_ledger
    ADD CONSTRAINT usage_ledger_idempotency_key_key UNIQUE (idempotency_key);

ALTER TABLE ONLY public.usage_ledger
    ADD CONSTRAINT usage_ledger_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (webhook_id);

CREATE INDEX ai_canary_checks_run_idx ON public.ai_canary_checks USING btree (run_id, id);

CREATE UNIQUE INDEX ai_canary_runs_one_active_per_environment ON public.ai_canary_runs USING btree (environment) WHERE (status = ANY (ARRAY['progressing'::text, 'halted'::text]));

CREATE INDEX ai_eval_runs_started_at_idx ON public.ai_eval_runs USING btree (started_at DESC);

CREATE INDEX ai_eval_samples_run_id_idx ON public.ai_eval_samples USING btree (run_id);

CREATE INDEX ai_generations_created_at_idx ON public.ai_generations USING btree (created_at) INCLUDE (recipe, status);

CREATE INDEX ai_generations_failed_idx ON public.ai_generations USING btree (finished_at DESC, id DESC) WHERE (status = ANY (ARRAY['failed'::text, 'timed_out'::text]));

CREATE INDEX ai_generations_in_flight_idx ON public.ai_generations USING btree (user_id, recipe) WHERE (status = ANY (ARRAY['pending'::text, 'running'::text]));

CREATE INDEX ai_generations_pending_idx ON public.ai_generations USING btree (run_after) WHERE (status = 'pending'::text);

CREATE UNIQUE INDEX ai_generations_prediction_key ON public.ai_generations USING btree (provider, provider_prediction_id) WHERE (provider_prediction_id IS NOT NULL);

CREATE INDEX ai_generations_running_lease_idx ON public.ai_generations USING btree (lease_until) WHERE (status = 'running'::text);

CREATE INDEX ai_generations_timed_out_predictions_idx ON public.ai_generations USING btree (finished_at) WHERE ((status = 'timed_out'::text) AND (provider_prediction_id IS NOT NULL));

CREATE INDEX ai_provider_attempts_created_at_idx ON public.ai_provider_attempts USING btree (created_at);

CREATE INDEX ai_provider_attempts_provider_created_at_idx ON public.ai_provider_attempts USING btree (provider, created_at DESC);

CREATE INDEX ai_provider_attempts_request_id_idx ON public.ai_provider_attempts USING btree (request_id);

CREATE INDEX ai_response_cache_expires_at_idx ON public.ai_response_cache USING btree (expires_at);

CREATE INDEX ai_rollout_log_environment_started_idx ON public.ai_rollout_log USING btree (environment, started_at DESC);

CREATE INDEX ai_semantic_cache_context_idx ON public.ai_semantic_cache USING btree (scope, context_hash, expires_at);

CREATE INDEX ai_semantic_cache_embedding_idx ON public.ai_semantic_cache USING hnsw (embedding extensions.vector_cosine_ops);

CREATE INDEX ai_semantic_cache_expires_at_idx ON public.ai_semantic_cache USING btree (expires_at);

CREATE UNIQUE INDEX ai_semantic_cache_request_idx ON public.ai_semantic_cache USING btree (scope, request_hash);

CREATE INDEX ai_suggestions_user_id_status_idx ON public.ai_suggestions USING btree (user_id, status);

CREATE INDEX ai_training_examples_created_at_list_idx ON public.ai_training_examples USING btree (created_at, id) INCLUDE (selected_provider, route_strategy, status, fallback_used, source, recipe, user_id, cost_usd);

CREATE INDEX ai_training_examples_environment_planned_idx ON public.ai_training_examples USING btree (environment, planned_provider, created_at) INCLUDE (fallback_used, latency_ms, schema_valid, safety_compliant) WHERE (planned_provider IS NOT NULL);

CREATE INDEX ai_training_examples_failed_created_at_idx ON public.ai_training_examples USING btree (created_at DESC, id DESC) INCLUDE (selected_provider, route_strategy, fallback_used, source, recipe, user_id) WHERE (status = 'failed'::text);

CREATE INDEX ai_training_examples_fallback_created_at_idx ON public.ai_training_examples USING btree (created_at DESC, id DESC) INCLUDE (selected_provider, route_strategy, status, source, recipe, user_id) WHERE fallback_used;

CREATE INDEX ai_training_examples_generation_id_idx ON public.ai_training_examples USING btree (generation_id) WHERE (generation_id IS NOT NULL);

CREATE INDEX ai_training_examples_generations_created_at_idx ON public.ai_training_examples USING btree (created_at) INCLUDE (latency_ms, fallback_used, selected_provider, fallback_provider) WHERE (source = ANY (ARRAY['generation'::text, 'generation_cached'::text]));

CREATE INDEX ai_training_examples_recipe_created_at_idx ON public.ai_training_examples USING btree (recipe, created_at DESC);

CREATE INDEX ai_training_examples_request_id_idx ON public.ai_training_examples USING btree (request_id);

CREATE INDEX ai_training_examples_route_strategy_created_at_idx ON public.ai_training_examples USING btree (route_strategy, created_at DESC);

CREATE INDEX ai_training_examples_selected_provider_created_at_idx ON public.ai_training_examples USING btree (selected_provider, created_at DESC) INCLUDE (latency_ms, fallback_used, source);

CREATE INDEX ai_training_examples_source_created_at_idx ON public.ai_training_examples USING btree (source, created_at DESC) WHERE (source <> 'generation'::text);

CREATE INDEX ai_training_examples_user_created_idx ON public.ai_training_examples USING btree (user_id, created_at DESC);

CREATE INDEX ai_training_examples_user_daily_spend_idx ON public.ai_training_examples_user_daily USING btree (bucket_start, cost_usd DESC) INCLUDE (user_id) WHERE (cost_count > 0);

CREATE INDEX budget_ledger_user_period_idx ON public.budget_ledger USING btree (user_id, period_start) INCLUDE (amount_usd);

CREATE INDEX budget_users_plan_idx ON public.budget_users USING btree (plan) WHERE (plan IS NOT NULL);

CREATE INDEX cards_user_created_idx ON public.cards USING btree (user_id, created_at DESC);

CREATE INDEX idempotency_keys_expires_at_idx ON public.idempotency_keys USING btree (expires_at);

CREATE INDEX idx_ai_generations_user_created ON public.ai_generations USING btree (user_id, created_at DESC);

CREATE INDEX render_variants_user_id_idx ON public.render_variants USING btree (user_id);

CREATE INDEX renders_user_created_idx ON public.renders USING btree (user_id, created_at DESC, id DESC);

CREATE INDEX renders_user_mode_created_idx ON public.renders USING btree (user_id, mode, created_at DESC, id DESC);

CREATE INDEX uploads_user_created_idx ON public.uploads USING btree (user_id, created_at DESC);

CREATE INDEX usage_ledger_user_period_idx ON public.usage_ledger USING btree (user_id, period);

CREATE OR REPLACE VIEW public.ai_eval_run_summary_v1 WITH (security_invoker='true') AS
 SELECT r.id AS run_id,
    r.run_type,
    r.schema_variant,
    r.status,
    r.triggered_by,
    r.started_at,
    r.finished_at,
    (count(s.id))::integer AS sample_count,
    round(avg((s.schema_valid)::integer), 6) AS schema_valid_rate,
    round(avg((s.patch_apply_success)::integer), 6) AS patch_apply_success,
    round(avg((s.edit_after_generate)::integer), 6) AS edit_after_generate_rate,
    round(avg((s.publish_conversion)::integer), 6) AS publish_conversion_proxy,
    round(avg((s.safety_compliant)::integer), 6) AS safety_html_tailwind_compliance,
    round(avg((s.fallback_used)::integer), 6) AS fallback_rate,
    round((percentile_cont((0.95)::double precision) WITHIN GROUP (ORDER BY ((s.latency_ms)::double precision)))::numeric, 3) AS p95_latency_ms
   FROM (public.ai_eval_runs r
     LEFT JOIN public.ai_eval_samples s ON ((s.run_id = r.id)))
  GROUP BY r.id;

CREATE TRIGGER ai_canary_runs_touch BEFORE UPDATE ON public.ai_canary_runs FOR EACH ROW WHEN ((NOT (new.updated_at IS DISTINCT FROM old.updated_at))) EXECUTE FUNCTION public.genloop_touch_updated_at();

CREATE CONSTRAINT TRIGGER ai_eval_runs_has_samples AFTER INSERT OR UPDATE ON public.ai_eval_runs DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.genloop_eval_run_has_samples();

CREATE TRIGGER ai_generations_canceled BEFORE UPDATE OF status ON public.ai_generations FOR EACH ROW WHEN (((new.status = 'canceled'::text) AND (old.status = ANY (ARRAY['pending'::text, 'running'::text])))) EXECUTE FUNCTION public.genloop_generation_canceled();

CREATE TRIGGER ai_generations_notify AFTER INSERT ON public.ai_generations FOR EACH ROW EXECUTE FUNCTION public.genloop_notify_generation_pending();

CREATE TRIGGER ai_generations_source_text_length BEFORE INSERT OR UPDATE OF recipe, source_text ON public.ai_generations FOR EACH ROW WHEN (((new.recipe = 'flashcards'::text) AND ((char_length(new.source_text) < 1000) OR (char_length(new.source_text) > 10000)))) EXECUTE FUNCTION public.genloop_generation_source_text_rejected();

CREATE TRIGGER ai_generations_touch BEFORE UPDATE ON public.ai_generations FOR EACH ROW WHEN ((NOT (new.updated_at IS DISTINCT FROM old.updated_at))) EXECUTE FUNCTION public.genloop_touch_updated_at();

CREATE TRIGGER ai_provider_configs_notify AFTER INSERT OR DELETE OR UPDATE ON public.ai_provider_configs FOR EACH ROW EXECUTE FUNCTION public.genloop_notify_provider_configs();

CREATE TRIGGER ai_provider_configs_touch BEFORE UPDATE ON public.ai_provider_configs FOR EACH ROW WHEN ((NOT (new.updated_at IS DISTINCT FROM old.updated_at))) EXECUTE FUNCTION public.genloop_touch_updated_at();

CREATE TRIGGER ai_suggestions_touch BEFORE UPDATE ON public.ai_suggestions FOR EACH ROW WHEN ((NOT (new.updated_at IS DISTINCT FROM old.updated_at))) EXECUTE FUNCTION public.genloop_touch_updated_at();

CREATE TRIGGER ai_training_examples_rollup_delete AFTER DELETE ON public.ai_training_examples REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.genloop_training_examples_rollup();

CREATE TRIGGER ai_training_examples_rollup_insert AFTER INSERT ON public.ai_training_examples REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.genloop_training_examples_rollup_inserted();

CREATE TRIGGER ai_training_examples_rollup_update AFTER UPDATE ON public.ai_training_examples REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.genloop_training_examples_rollup();

CREATE TRIGGER budget_ledger_spend AFTER INSERT OR DELETE OR UPDATE OF user_id, period_start, kind, amount_usd, cost_usd ON public.budget_ledger FOR EACH ROW EXECUTE FUNCTION public.genloop_budget_spend_apply();

CREATE TRIGGER budget_plans_notify AFTER INSERT OR DELETE OR UPDATE ON public.budget_plans FOR EACH STATEMENT EXECUTE FUNCTION public.genloop_notify_budgets();

CREATE TRIGGER budget_users_notify AFTER INSERT OR DELETE OR UPDATE ON public.budget_users FOR EACH STATEMENT EXECUTE FUNCTION public.genloop_notify_budgets();

CREATE TRIGGER cards_touch BEFORE UPDATE ON public.cards FOR EACH ROW WHEN ((NOT (new.updated_at IS DISTINCT FROM old.updated_at))) EXECUTE FUNCTION public.genloop_touch_updated_at();

ALTER TABLE ONLY public.ai_canary_checks
    ADD CONSTRAINT ai_canary_checks_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.ai_canary_runs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ai_eval_samples
    ADD CONSTRAINT ai_eval_samples_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.ai_eval_runs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ai_suggestions
    ADD CONSTRAINT ai_suggestions_generation_id_fkey FOREIGN KEY (generation_id) REFERENCES public.ai_generations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.budget_users
    ADD CONSTRAINT budget_users_plan_fkey FOREIGN KEY (plan) REFERENCES public.budget_plans(name) ON UPDATE CASCADE ON DELETE SET NULL;

ALTER TABLE ONLY public.cards
    ADD CONSTRAINT cards_generation_id_fkey FOREIGN KEY (generation_id) REFERENCES public.ai_generations(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.cards
    ADD CONSTRAINT cards_suggestion_id_fkey FOREIGN KEY (suggestion_id) REFERENCES public.ai_suggestions(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.render_variants
    ADD CONSTRAINT render_variants_render_id_fkey FOREIGN KEY (render_id) REFERENCES public.renders(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.renders
    ADD CONSTRAINT renders_generation_id_fkey FOREIGN KEY (generation_id) REFERENCES public.ai_generations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.uploads
    ADD CONSTRAINT uploads_generation_id_fkey FOREIGN KEY (generation_id) REFERENCES public.ai_generations(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.usage_ledger
    ADD CONSTRAINT usage_ledger_generation_id_fkey FOREIGN KEY (generation_id) REFERENCES public.ai_generations(id) ON DELETE SET NULL;

ALTER TABLE public.ai_canary_checks ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_canary_runs ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_eval_runs ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_eval_samples ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_generations ENABLE ROW LEVEL SECURITY;

CREATE POLICY ai_generations_cancel_own ON public.ai_generations FOR UPDATE TO authenticated USING (((user_id = ( SELECT auth.uid() AS uid)) AND (status = ANY (ARRAY['pending'::text, 'running'::text])))) WITH CHECK (((user_id = ( SELECT auth.uid() AS uid)) AND (status = 'canceled'::text)));

CREATE POLICY ai_generations_select_own ON public.ai_generations FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.ai_provider_attempts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_provider_configs ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_provider_health ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_response_cache ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_rollout_log ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_semantic_cache ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_suggestions ENABLE ROW LEVEL SECURITY;

CREATE POLICY ai_suggestions_select_own ON public.ai_suggestions FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE POLICY ai_suggestions_update_own ON public.ai_suggestions FOR UPDATE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.ai_training_examples ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_training_examples_daily ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_training_examples_environment_hourly ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.ai_training_examples_hourly ENABLE ROW LEVEL SECURITY;

CREATE POLICY ai_training_examples_select_own ON public.ai_training_examples FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE POLICY ai_training_examples_update_own_outcomes ON public.ai_training_examples FOR UPDATE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.ai_training_examples_user_daily ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.budget_ledger ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.budget_plans ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.budget_spend ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.budget_users ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.cards ENABLE ROW LEVEL SECURITY;

CREATE POLICY cards_delete_own ON public.cards FOR DELETE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE POLICY cards_insert_own ON public.cards FOR INSERT TO authenticated WITH CHECK (((user_id = ( SELECT auth.uid() AS uid)) AND ((suggestion_id IS NULL) OR (EXISTS ( SELECT 1
   FROM public.ai_suggestions s
  WHERE ((s.id = cards.suggestion_id) AND (s.user_id = ( SELECT auth.uid() AS uid)))))) AND ((generation_id IS NULL) OR (EXISTS ( SELECT 1
   FROM public.ai_generations g
  WHERE ((g.id = cards.generation_id) AND (g.user_id = ( SELECT auth.uid() AS uid))))))));

CREATE POLICY cards_select_own ON public.cards FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE POLICY cards_update_own ON public.cards FOR UPDATE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.genloop_leases ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.rate_limits ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.render_variants ENABLE ROW LEVEL SECURITY;

CREATE POLICY render_variants_select_own ON public.render_variants FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.renders ENABLE ROW LEVEL SECURITY;

CREATE POLICY renders_delete_own ON public.renders FOR DELETE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE POLICY renders_select_own ON public.renders FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.uploads ENABLE ROW LEVEL SECURITY;

CREATE POLICY uploads_delete_own ON public.uploads FOR DELETE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

CREATE POLICY uploads_select_own ON public.uploads FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.usage_ledger ENABLE ROW LEVEL SECURITY;

CREATE POLICY usage_ledger_select_own ON public.usage_ledger FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.webhook_events ENABLE ROW LEVEL SECURITY;
