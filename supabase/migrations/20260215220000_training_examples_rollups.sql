-- Dashboard reads over ai_training_examples that stay fast at 10M+ rows (issue 2 item 9; see
-- docs/query-performance.md for the measurements behind each choice).
--
-- 1. A covering index on created_at, so the seed 000 verification query and any "last N hours"
--    scan are index-only scans that never touch the wide heap rows.
-- 2. Hourly and daily rollups per (selected_provider, route_strategy, source), each with counts,
--    fallback counts, a latency sum and a log-bucketed latency histogram. Statement-level
--    triggers with transition tables keep them exact on insert, update and delete (one upsert
--    per touched group per statement, not per row). genloop_refresh_rollups(from, to) rebuilds
--    whole UTC days from the raw rows (backfill, repair).
-- 3. Functions the dashboard calls: per provider per hour, and per provider over any window
--    (30 days reads ~30 daily rows per group plus the hours at both edges).
--
-- Latency histogram: bucket 1 holds 0 ms; bucket b >= 2 holds (g^(b-3), g^(b-2)] ms with
-- g = 21/19, up to bucket 153 (about 61 minutes; anything slower is counted there). A bucket
-- is estimated by 0.95 * g^(b-2), which is within 5% of every value in the bucket, so a
-- percentile read from a histogram (interpolated between closest ranks like percentile_cont)
-- is within 5% of the exact percentile_cont of the same rows.
--
-- Rows whose selected_provider or route_strategy is null (a failed attempt that selected
-- nothing, Phase 1 rows) are rolled up under 'none'. TRUNCATE and dropping a partition leave
-- the rollups alone: they are the history that outlives retention of the raw rows.

-- ---------------------------------------------------------------------------------------------
-- Index: the covering index replaces the plain (created_at desc) index of the runtime migration;
-- it serves every query that one did, in either direction. On a large live table create it
-- by hand first (`create index concurrently if not exists ...`) so this file does not block
-- writers while it builds.
-- ---------------------------------------------------------------------------------------------
create index if not exists ai_training_examples_created_at_covering_idx
  on public.ai_training_examples (created_at)
  include (source, selected_provider, fallback_used, fallback_provider, latency_ms);

drop index if exists public.ai_training_examples_created_at_idx;

-- ---------------------------------------------------------------------------------------------
-- Latency histogram helpers
-- ---------------------------------------------------------------------------------------------
-- Not strict, so the planner inlines it into the rollup statements (a strict function with a
-- CASE body is called per row, several times slower); null stays null.
create or replace function public.genloop_latency_bucket(latency_ms integer) returns integer
  language sql immutable parallel safe
  as $$
    select case
      when latency_ms is null then null
      when latency_ms <= 0 then 1
      else least(2 + ceil(ln(latency_ms::double precision) / ln(21::double precision / 19))::integer, 153)
    end
  $$;

-- The value a bucket stands for: within 5% of every latency the bucket holds.
create or replace function public.genloop_latency_bucket_value(bucket integer)
  returns double precision
  language sql immutable parallel safe
  as $$
    select case
      when bucket is null then null
      when bucket <= 1 then 0::double precision
      else 0.95 * power(21::double precision / 19, bucket - 2)
    end
  $$;

-- A dense 153-bucket histogram from (bucket, count) pairs.
create or replace function public.genloop_histogram_from_buckets(buckets integer[], counts bigint[])
  returns bigint[]
  language plpgsql immutable parallel safe
  as $$
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

-- Element-wise sum of two histograms (null is the empty histogram).
create or replace function public.genloop_histogram_add(a bigint[], b bigint[]) returns bigint[]
  language plpgsql immutable parallel safe
  as $$
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

-- `genloop_histogram_sum(latency_histogram)`: merges histograms across rows.
create or replace aggregate public.genloop_histogram_sum(bigint[]) (
  sfunc = public.genloop_histogram_add,
  stype = bigint[],
  combinefunc = public.genloop_histogram_add,
  parallel = safe
);

-- The `fraction` percentile of a histogram, defined like percentile_cont (linear interpolation
-- between the two closest ranks), each rank read as its bucket's value: within 5% of the exact
-- percentile_cont of the rows the histogram counts.
create or replace function public.genloop_histogram_percentile(
  histogram bigint[],
  fraction double precision
) returns double precision
  language plpgsql immutable parallel safe
  as $$
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

-- ---------------------------------------------------------------------------------------------
-- Rollup tables (service-only, like the other telemetry tables). fillfactor leaves room for
-- HOT updates: the current hour's rows are updated by every telemetry batch.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ai_training_examples_hourly (
  bucket_start timestamptz not null,
  selected_provider text not null,
  route_strategy text not null,
  source text not null,
  total_count bigint not null default 0,
  succeeded_count bigint not null default 0,
  failed_count bigint not null default 0,
  fallback_count bigint not null default 0,
  latency_count bigint not null default 0,
  latency_sum_ms bigint not null default 0,
  latency_histogram bigint[] not null,
  constraint ai_training_examples_hourly_pkey
    primary key (bucket_start, selected_provider, route_strategy, source)
) with (fillfactor = 70);

create table if not exists public.ai_training_examples_daily (
  bucket_start timestamptz not null,
  selected_provider text not null,
  route_strategy text not null,
  source text not null,
  total_count bigint not null default 0,
  succeeded_count bigint not null default 0,
  failed_count bigint not null default 0,
  fallback_count bigint not null default 0,
  latency_count bigint not null default 0,
  latency_sum_ms bigint not null default 0,
  latency_histogram bigint[] not null,
  constraint ai_training_examples_daily_pkey
    primary key (bucket_start, selected_provider, route_strategy, source)
) with (fillfactor = 70);

alter table public.ai_training_examples_hourly enable row level security;
alter table public.ai_training_examples_daily enable row level security;
revoke all on table public.ai_training_examples_hourly, public.ai_training_examples_daily
  from anon, authenticated;
grant all on table public.ai_training_examples_hourly, public.ai_training_examples_daily
  to service_role;

-- ---------------------------------------------------------------------------------------------
-- Maintenance
-- ---------------------------------------------------------------------------------------------

-- The statement that applies `changes` (a query yielding created_at, selected_provider,
-- route_strategy, source, status, fallback_used, latency_ms and sign = +1 or -1 per raw row) to
-- both rollups. The raw rows are aggregated once, by (hour, group, latency bucket); hourly and
-- daily deltas are summed from that. Groups whose net change is zero are skipped, so an update
-- of unrelated columns writes nothing. Every writer locks the rollup rows in the same order
-- (daily then hourly, each in key order), so concurrent single-statement writers never
-- deadlock on the shared hot rows.
create or replace function public.genloop_rollup_apply_sql(changes text) returns text
  language sql immutable parallel safe
  as $$
    select format($sql$
with changes as (%1$s),
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
    coalesce(sum(c.sign * c.latency_ms::bigint), 0) as latency_sum_ms
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
    bool_or(f.latency_bucket is not null and f.total_count <> 0) as histogram_changed
  from fine f
  cross join (values ('hour'), ('day')) as grain(name)
  group by 1, 2, 3, 4, 5
),
changed as (
  select *
  from deltas d
  where d.histogram_changed
     or (d.total_count, d.succeeded_count, d.failed_count, d.fallback_count, d.latency_count,
         d.latency_sum_ms) <> (0, 0, 0, 0, 0, 0)
),
hourly as (
  insert into public.ai_training_examples_hourly as r (
    bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
    failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram
  )
  select bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
         failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram
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
      public.genloop_histogram_add(r.latency_histogram, excluded.latency_histogram)
)
insert into public.ai_training_examples_daily as r (
  bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
  failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram
)
select bucket_start, selected_provider, route_strategy, source, total_count, succeeded_count,
       failed_count, fallback_count, latency_count, latency_sum_ms, latency_histogram
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
  latency_histogram = public.genloop_histogram_add(r.latency_histogram, excluded.latency_histogram)
$sql$, changes)
  $$;

-- Statement-level trigger: folds the statement's transition tables into both rollups. Security
-- definer so that any role allowed to write telemetry keeps the service-only rollups right.
create or replace function public.genloop_training_examples_rollup() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  columns constant text :=
    'created_at, selected_provider, route_strategy, source, status, fallback_used, latency_ms';
  changes text;
begin
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

drop trigger if exists ai_training_examples_rollup_insert on public.ai_training_examples;
create trigger ai_training_examples_rollup_insert
  after insert on public.ai_training_examples
  referencing new table as new_rows
  for each statement execute function public.genloop_training_examples_rollup();

drop trigger if exists ai_training_examples_rollup_update on public.ai_training_examples;
create trigger ai_training_examples_rollup_update
  after update on public.ai_training_examples
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.genloop_training_examples_rollup();

drop trigger if exists ai_training_examples_rollup_delete on public.ai_training_examples;
create trigger ai_training_examples_rollup_delete
  after delete on public.ai_training_examples
  referencing old table as old_rows
  for each statement execute function public.genloop_training_examples_rollup();

-- Rebuilds both rollups for the whole UTC days that [p_from, p_to) touches, from the raw rows.
-- Takes an exclusive lock on the rollups, so telemetry writers wait (their raw rows are not yet
-- visible, and their own trigger adds them after this commits): the result is exact. Returns
-- the number of raw rows read.
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
  lock table public.ai_training_examples_hourly, public.ai_training_examples_daily
    in exclusive mode;
  delete from public.ai_training_examples_hourly
    where bucket_start >= day_from and bucket_start < day_to;
  delete from public.ai_training_examples_daily
    where bucket_start >= day_from and bucket_start < day_to;
  changes := format(
    'select created_at, selected_provider, route_strategy, source, status, fallback_used,
            latency_ms, 1 as sign
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
-- Dashboard reads. Both count the rows of every hour bucket that intersects [p_from, p_to);
-- latency percentiles are histogram estimates within 5% of percentile_cont.
-- ---------------------------------------------------------------------------------------------

-- Per provider per hour: `select * from genloop_provider_hourly_stats(now() - interval '24 hours')`.
create or replace function public.genloop_provider_hourly_stats(
  p_from timestamptz,
  p_to timestamptz default now(),
  p_sources text[] default array['generation', 'generation_cached']
) returns table (
  bucket_start timestamptz,
  selected_provider text,
  total_count bigint,
  succeeded_count bigint,
  failed_count bigint,
  fallback_count bigint,
  fallback_rate numeric,
  avg_latency_ms numeric,
  p50_latency_ms double precision,
  p95_latency_ms double precision,
  p99_latency_ms double precision
)
  language sql stable parallel safe
  as $$
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

-- Per provider over a window: `select * from genloop_provider_stats(now() - interval '30 days')`.
-- Whole UTC days inside the window come from the daily rollup, the hours at its edges from the
-- hourly one, so the cost depends on the window's length in days, not on the number of rows.
create or replace function public.genloop_provider_stats(
  p_from timestamptz,
  p_to timestamptz default now(),
  p_sources text[] default array['generation', 'generation_cached']
) returns table (
  selected_provider text,
  total_count bigint,
  succeeded_count bigint,
  failed_count bigint,
  fallback_count bigint,
  fallback_rate numeric,
  avg_latency_ms numeric,
  p50_latency_ms double precision,
  p95_latency_ms double precision,
  p99_latency_ms double precision
)
  language sql stable parallel safe
  as $$
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

revoke all on function
  public.genloop_latency_bucket(integer),
  public.genloop_latency_bucket_value(integer),
  public.genloop_histogram_from_buckets(integer[], bigint[]),
  public.genloop_histogram_add(bigint[], bigint[]),
  public.genloop_histogram_sum(bigint[]),
  public.genloop_histogram_percentile(bigint[], double precision),
  public.genloop_rollup_apply_sql(text),
  public.genloop_training_examples_rollup(),
  public.genloop_refresh_rollups(timestamptz, timestamptz),
  public.genloop_provider_hourly_stats(timestamptz, timestamptz, text[]),
  public.genloop_provider_stats(timestamptz, timestamptz, text[])
  from public, anon, authenticated;
grant execute on function
  public.genloop_latency_bucket(integer),
  public.genloop_latency_bucket_value(integer),
  public.genloop_histogram_from_buckets(integer[], bigint[]),
  public.genloop_histogram_add(bigint[], bigint[]),
  public.genloop_histogram_sum(bigint[]),
  public.genloop_histogram_percentile(bigint[], double precision),
  public.genloop_rollup_apply_sql(text),
  public.genloop_refresh_rollups(timestamptz, timestamptz),
  public.genloop_provider_hourly_stats(timestamptz, timestamptz, text[]),
  public.genloop_provider_stats(timestamptz, timestamptz, text[])
  to service_role;

-- Rows written before this migration: fold them in once (no-op on a fresh database). Creating
-- the triggers above locked out concurrent writers until this transaction commits.
select public.genloop_refresh_rollups(min(created_at), max(created_at) + interval '1 microsecond')
  from public.ai_training_examples
having count(*) > 0
   and not exists (select 1 from public.ai_training_examples_hourly);
