-- Spend and the cache hit rate from rollups, so the operator console reads them in a few
-- milliseconds however large ai_training_examples grows.
--
-- 1. The hourly and daily rollups get `cost_usd` (the sum of the rows' cost_usd) and
--    `cost_count` (how many rows had a known cost). A row of unknown cost adds to neither, so
--    total_count - cost_count is the number of calls whose cost nobody knows: spend leaves them
--    out rather than counting them as free. Spend per provider over a day or a week is then a
--    sum over at most 24 or 168 hours of rollup rows.
-- 2. ai_training_examples_user_daily: one row per user per UTC day with their rows, their priced
--    rows and what those cost. The console ranks the users who spent most over the days of a
--    window from it. A day is the finest grain that stays small: a busy public app has about as
--    many user-hours as raw rows, but tens of thousands of users a day. Rows without a user
--    (API keys, evals) are not kept here; they count in the hourly and daily rollups.
-- 3. ai_training_examples_environment_hourly: per hour and routing environment, the generations
--    and how many of them the response cache answered (source generation_cached), for the cache
--    hit rate of one environment. The rollups above are keyed by source already, so they hold
--    the cached count over all environments; they are not keyed by environment, and adding it
--    would multiply the rows the console's 7-day overview merges. Cache keys are per
--    environment, so the hit rate is too. Rows without an environment (written before telemetry
--    recorded it) belong to none and are not kept here.
--
-- The same statement-level trigger keeps all of them exact on insert, update and delete, in one
-- statement per telemetry statement, and skips retention deletes (`genloop.pruning`) as before,
-- so `genloop db prune` leaves every total as it was. genloop_refresh_rollups rebuilds them too.
--
-- Backfill: rows already in the table are folded in once, here, with two passes over the table
-- (one grouped per hour, provider, strategy, source and environment, one per user and day). On
-- the benchmark's 10M-row table (30 days, 50 000 users; 2 cores, Postgres 15, other work on the
-- machine) this file took 31 s and wrote 1.5M per-user rows (about 290 MB with their indexes).
-- Telemetry writers wait for it (the table is locked against writes so no row is counted twice
-- or missed), so on a large live table apply it in a quiet hour. Hours whose raw rows were
-- already pruned keep cost_count = 0: their cost is unknown, never zero.

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------
alter table public.ai_training_examples_hourly
  add column if not exists cost_usd numeric(20, 6) not null default 0,
  add column if not exists cost_count bigint not null default 0;
alter table public.ai_training_examples_daily
  add column if not exists cost_usd numeric(20, 6) not null default 0,
  add column if not exists cost_count bigint not null default 0;

-- fillfactor leaves room for HOT updates: a user's row of today is updated by each of their calls.
create table if not exists public.ai_training_examples_user_daily (
  bucket_start timestamptz not null,
  user_id uuid not null,
  total_count bigint not null default 0,
  cost_count bigint not null default 0,
  cost_usd numeric(20, 6) not null default 0,
  constraint ai_training_examples_user_daily_pkey primary key (bucket_start, user_id)
) with (fillfactor = 70);

create table if not exists public.ai_training_examples_environment_hourly (
  bucket_start timestamptz not null,
  environment text not null,
  generation_count bigint not null default 0,
  cached_count bigint not null default 0,
  constraint ai_training_examples_environment_hourly_pkey primary key (bucket_start, environment)
) with (fillfactor = 70);

-- Each day's users by what they spent, most first: the console finds the users who spent most
-- over several days from the head of each day's list (see src/sql/spend.ts) instead of summing
-- every user of every day. It costs each update of a user's day a new index entry (the cost
-- changes, so the update cannot be HOT); bench/query/insert.ts measures that.
create index if not exists ai_training_examples_user_daily_spend_idx
  on public.ai_training_examples_user_daily (bucket_start, cost_usd desc)
  include (user_id)
  where cost_count > 0;

alter table public.ai_training_examples_user_daily enable row level security;
alter table public.ai_training_examples_environment_hourly enable row level security;
revoke all on table public.ai_training_examples_user_daily,
  public.ai_training_examples_environment_hourly from anon, authenticated;
grant all on table public.ai_training_examples_user_daily,
  public.ai_training_examples_environment_hourly to service_role;

-- ---------------------------------------------------------------------------------------------
-- Maintenance
-- ---------------------------------------------------------------------------------------------

-- The statement that applies `changes` (a query yielding created_at, selected_provider,
-- route_strategy, source, status, fallback_used, latency_ms, cost_usd, user_id, environment and
-- sign = +1 or -1 per raw row) to every rollup. As before, groups whose net change is zero are
-- skipped, so an update of unrelated columns writes nothing, and every writer locks rollup rows
-- table by table in the same order, each table in key order, so concurrent writers never
-- deadlock on the shared hot rows.
create or replace function public.genloop_rollup_apply_sql(changes text) returns text
  language sql immutable parallel safe
  as $$
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
  $$;

-- The columns every rollup reads from a raw row, in the order the statement above expects.
create or replace function public.genloop_training_examples_rollup() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
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
$$;

-- Rebuilds every rollup for the whole UTC days that [p_from, p_to) touches, from the raw rows
-- (repair; it forgets what retention removed from those days). Locks the rollups so telemetry
-- writers wait and the result is exact. Returns the number of raw rows read.
create or replace function public.genloop_refresh_rollups(p_from timestamptz, p_to timestamptz)
  returns bigint
  language plpgsql
  set search_path = ''
  as $$
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

-- ---------------------------------------------------------------------------------------------
-- Backfill of the rows already written (nothing to do on a fresh database)
-- ---------------------------------------------------------------------------------------------
lock table public.ai_training_examples in share mode;

create temporary table genloop_backfill_hours on commit drop as
  select date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
         coalesce(selected_provider, 'none') as selected_provider,
         coalesce(route_strategy, 'none') as route_strategy,
         source,
         environment,
         count(*) filter (where source in ('generation', 'generation_cached')) as generation_count,
         count(*) filter (where source = 'generation_cached') as cached_count,
         coalesce(sum(cost_usd), 0) as cost_usd,
         count(cost_usd) as cost_count
    from public.ai_training_examples
   group by 1, 2, 3, 4, 5;

update public.ai_training_examples_hourly r
   set cost_usd = b.cost_usd, cost_count = b.cost_count
  from (select bucket_start, selected_provider, route_strategy, source,
               sum(cost_usd) as cost_usd, sum(cost_count)::bigint as cost_count
          from genloop_backfill_hours
         group by 1, 2, 3, 4) b
 where r.bucket_start = b.bucket_start and r.selected_provider = b.selected_provider
   and r.route_strategy = b.route_strategy and r.source = b.source
   and b.cost_count > 0;

update public.ai_training_examples_daily r
   set cost_usd = b.cost_usd, cost_count = b.cost_count
  from (select date_trunc('day', bucket_start at time zone 'UTC') at time zone 'UTC'
                 as bucket_start,
               selected_provider, route_strategy, source,
               sum(cost_usd) as cost_usd, sum(cost_count)::bigint as cost_count
          from genloop_backfill_hours
         group by 1, 2, 3, 4) b
 where r.bucket_start = b.bucket_start and r.selected_provider = b.selected_provider
   and r.route_strategy = b.route_strategy and r.source = b.source
   and b.cost_count > 0;

insert into public.ai_training_examples_environment_hourly (
  bucket_start, environment, generation_count, cached_count
)
select bucket_start, environment, sum(generation_count), sum(cached_count)
  from genloop_backfill_hours
 where environment is not null
 group by 1, 2
having sum(generation_count) > 0
on conflict (bucket_start, environment) do nothing;

insert into public.ai_training_examples_user_daily (
  bucket_start, user_id, total_count, cost_count, cost_usd
)
select date_trunc('day', created_at at time zone 'UTC') at time zone 'UTC', user_id, count(*),
       count(cost_usd), coalesce(sum(cost_usd), 0)
  from public.ai_training_examples
 where user_id is not null
 group by 1, 2
on conflict (bucket_start, user_id) do nothing;
