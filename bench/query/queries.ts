/** A time target for a query: `ms` applies to tables of up to `rows` rows. */
export interface Target {
  rows: number;
  ms: number;
  /**
   * Where the target comes from: the provider routing acceptance criterion (the P95 latency
   * query under 1 s on a 1M-row table), or genloop's own.
   */
  by: 'routing acceptance' | 'genloop';
}

export interface BenchQuery {
  name: string;
  description: string;
  /** `raw` reads ai_training_examples, `rollup` the hourly/daily rollups. */
  reads: 'raw' | 'rollup';
  sql: string;
  targets: Target[];
}

/**
 * The 24-hour telemetry verification query operators run after a runtime deploy, byte for byte
 * (see test/db/operator-sql.test.ts).
 */
export const TELEMETRY_VERIFICATION = `select
  count(*) as total_generations,
  count(*) filter (where selected_provider is not null) as selected_provider_set,
  count(*) filter (where fallback_used = true and fallback_provider is not null) as valid_fallback_rows,
  round(avg(latency_ms) filter (where latency_ms is not null), 2) as avg_latency_ms
from public.ai_training_examples
where source in ('generation', 'generation_cached')
  and created_at >= now() - interval '24 hours';`;

// The raw "exact" queries cover the same hour buckets as the rollup functions (every UTC hour
// that intersects the window), so the two can be compared row for row.
const HOURLY_RAW = `select
  date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
  selected_provider,
  count(*) as total_count,
  round(avg(fallback_used::integer), 6) as fallback_rate,
  percentile_cont(0.95) within group (order by latency_ms) as p95_latency_ms
from public.ai_training_examples
where source in ('generation', 'generation_cached')
  and created_at >= date_trunc('hour', (now() - interval '24 hours') at time zone 'UTC') at time zone 'UTC'
group by 1, 2
order by 1, 2`;

const THIRTY_DAYS_RAW = `select
  selected_provider,
  count(*) as total_count,
  round(avg(fallback_used::integer), 6) as fallback_rate,
  percentile_cont(0.95) within group (order by latency_ms) as p95_latency_ms
from public.ai_training_examples
where source in ('generation', 'generation_cached')
  and created_at >= date_trunc('hour', (now() - interval '30 days') at time zone 'UTC') at time zone 'UTC'
group by 1
order by 1`;

const HOURLY_ROLLUP = `select bucket_start, selected_provider, total_count, fallback_rate, p95_latency_ms
from public.genloop_provider_hourly_stats(now() - interval '24 hours')`;

const THIRTY_DAYS_ROLLUP = `select selected_provider, total_count, fallback_rate, p95_latency_ms
from public.genloop_provider_stats(now() - interval '30 days')`;

const TEN_MILLION = 10_000_000;
const ONE_MILLION = 1_000_000;

export const QUERIES: BenchQuery[] = [
  {
    name: 'a_telemetry_verification',
    description: 'telemetry verification query, verbatim (24 h)',
    reads: 'raw',
    sql: TELEMETRY_VERIFICATION,
    targets: [{ rows: TEN_MILLION, ms: 50, by: 'genloop' }],
  },
  {
    name: 'b_hourly_rollup',
    description: 'p95 latency + fallback rate per provider per hour, last 24 h (rollup)',
    reads: 'rollup',
    sql: HOURLY_ROLLUP,
    targets: [{ rows: TEN_MILLION, ms: 50, by: 'genloop' }],
  },
  {
    name: 'b_hourly_raw_exact',
    description: 'same, exact percentile_cont over raw rows (reference)',
    reads: 'raw',
    sql: HOURLY_RAW,
    targets: [],
  },
  {
    name: 'c_30d_rollup',
    description: '30-day p95 latency + fallback rate per provider (rollup)',
    reads: 'rollup',
    sql: THIRTY_DAYS_ROLLUP,
    targets: [{ rows: TEN_MILLION, ms: 1000, by: 'genloop' }],
  },
  {
    name: 'c_30d_raw_exact',
    description: 'same, exact percentile_cont over raw rows (P95 latency acceptance query)',
    reads: 'raw',
    sql: THIRTY_DAYS_RAW,
    targets: [{ rows: ONE_MILLION, ms: 1000, by: 'routing acceptance' }],
  },
];

/** The target that applies to a table of `rows` rows: the tightest one whose size covers it. */
export function targetFor(query: BenchQuery, rows: number): Target | undefined {
  return query.targets.filter((target) => rows <= target.rows).sort((a, b) => a.ms - b.ms)[0];
}
