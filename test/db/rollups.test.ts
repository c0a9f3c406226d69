import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';

// The rollups of ai_training_examples (migration 20260215220000, docs/query-performance.md):
// counts must equal the raw aggregates exactly, and a histogram percentile must be within the
// stated 5% of percentile_cont over the same rows.
const BOUND = 0.05;
const BASE = Date.parse('2026-02-10T00:00:00Z');
const HOUR = 3_600_000;

/** mulberry32: a small seeded generator, so the dataset is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface TelemetryRow {
  id: string;
  source: string;
  status: 'succeeded' | 'failed';
  request_id: string;
  selected_provider: string | null;
  route_strategy: string;
  fallback_provider: string | null;
  fallback_used: boolean;
  latency_ms: number | null;
  prompt_template_version: string;
  cost_usd: number | null;
  user_id: string | null;
  environment: string | null;
  created_at: string;
}

const USERS = Array.from({ length: 12 }, () => randomUUID());

/** Three days of mixed traffic: every provider, strategy, source, fallback and null case. */
function dataset(count: number): TelemetryRow[] {
  const random = seeded(42);
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  return Array.from({ length: count }, () => {
    const strategy = pick(['single_provider', 'weighted', 'fallback'] as const);
    const fellBack = strategy !== 'single_provider' && random() < 0.08;
    const nothingSelected = !fellBack && random() < 0.03;
    const provider = nothingSelected ? null : pick(['openai', 'custom', 'openrouter']);
    const roll = random();
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return {
      id: randomUUID(),
      source: roll < 0.1 ? 'generation_cached' : roll < 0.15 ? 'patch' : 'generation',
      status: nothingSelected || random() < 0.03 ? 'failed' : 'succeeded',
      request_id: randomUUID(),
      selected_provider: provider,
      route_strategy: strategy,
      fallback_provider: fellBack ? provider : strategy === 'single_provider' ? null : 'custom',
      fallback_used: fellBack,
      latency_ms:
        random() < 0.03
          ? null
          : random() < 0.02
            ? 0
            : Math.round(Math.exp(Math.log(1500) + 0.7 * gaussian)),
      prompt_template_version: 'site-v1',
      // Unknown cost (null) must stay apart from a free call (0).
      cost_usd: random() < 0.1 ? null : random() < 0.1 ? 0 : Math.round(random() * 1e5) / 1e6,
      user_id: random() < 0.1 ? null : pick(USERS),
      environment: pick(['prod', 'prod', 'staging', null]),
      created_at: new Date(BASE + Math.floor(random() * 72 * HOUR)).toISOString(),
    };
  });
}

async function insertRows(db: Queryable, rows: readonly TelemetryRow[]): Promise<void> {
  await db.query(
    `insert into ai_training_examples
       (id, source, status, request_id, selected_provider, route_strategy, fallback_provider,
        fallback_used, latency_ms, prompt_template_version, cost_usd, user_id, environment,
        created_at)
     select id, source, status, request_id, selected_provider, route_strategy, fallback_provider,
            fallback_used, latency_ms, prompt_template_version, cost_usd, user_id, environment,
            created_at
       from jsonb_to_recordset($1::jsonb) as x(
         id uuid, source text, status text, request_id uuid, selected_provider text,
         route_strategy text, fallback_provider text, fallback_used boolean, latency_ms integer,
         prompt_template_version text, cost_usd numeric, user_id uuid, environment text,
         created_at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

const RAW_HOURLY = `
  select date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
         coalesce(selected_provider, 'none') as selected_provider,
         coalesce(route_strategy, 'none') as route_strategy,
         source,
         count(*) as total_count,
         count(*) filter (where status = 'succeeded') as succeeded_count,
         count(*) filter (where status = 'failed') as failed_count,
         count(*) filter (where fallback_used) as fallback_count,
         count(latency_ms) as latency_count,
         coalesce(sum(latency_ms), 0) as latency_sum_ms,
         coalesce(sum(cost_usd), 0)::numeric(20, 6)::text as cost_usd,
         count(cost_usd) as cost_count
    from ai_training_examples
   group by 1, 2, 3, 4
   order by 1, 2, 3, 4`;

// Costs compared as text at the rollups' scale, so 0.1 + 0.2 is checked exactly.
const ROLLUP_COLUMNS = `bucket_start, selected_provider, route_strategy, source, total_count,
  succeeded_count, failed_count, fallback_count, latency_count, latency_sum_ms,
  cost_usd::numeric(20, 6)::text as cost_usd, cost_count`;

const RAW_USER_DAILY = `
  select date_trunc('day', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
         user_id, count(*) as total_count, count(cost_usd) as cost_count,
         coalesce(sum(cost_usd), 0)::numeric(20, 6)::text as cost_usd
    from ai_training_examples
   where user_id is not null
   group by 1, 2
   order by 1, 2`;

const RAW_ENVIRONMENT_HOURLY = `
  select date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
         environment, count(*) as generation_count,
         count(*) filter (where source = 'generation_cached') as cached_count
    from ai_training_examples
   where environment is not null and source in ('generation', 'generation_cached')
   group by 1, 2
   order by 1, 2`;

const userDailyRows = (db: Queryable) =>
  db
    .query(
      `select bucket_start, user_id, total_count, cost_count,
              cost_usd::numeric(20, 6)::text as cost_usd
         from ai_training_examples_user_daily
        where (total_count, cost_count, cost_usd) <> (0, 0, 0)
        order by 1, 2`,
    )
    .then((result) => result.rows);

const environmentRows = (db: Queryable) =>
  db
    .query(
      `select bucket_start, environment, generation_count, cached_count
         from ai_training_examples_environment_hourly
        where (generation_count, cached_count) <> (0, 0)
        order by 1, 2`,
    )
    .then((result) => result.rows);

const rollupRows = (db: Queryable, table: string) =>
  db
    .query(
      `select ${ROLLUP_COLUMNS} from ${table} where total_count <> 0
        order by bucket_start, selected_provider, route_strategy, source`,
    )
    .then((result) => result.rows);

/** Every rollup row's histogram counts exactly its latency_count rows. */
const histogramsConsistent = (db: Queryable, table: string) =>
  db
    .query<{ ok: boolean | null }>(
      `select bool_and((select coalesce(sum(n), 0) from unnest(latency_histogram) n) = latency_count
                       and array_length(latency_histogram, 1) = 153) as ok
         from ${table}`,
    )
    .then((result) => result.rows[0]!.ok);

interface ProviderStats {
  bucket_start?: Date;
  selected_provider: string | null;
  total_count: number;
  succeeded_count: number;
  failed_count: number;
  fallback_count: number;
  fallback_rate: number | null;
  avg_latency_ms: number | null;
  p95_latency_ms: number | null;
}

/** Exact aggregates over [from, to) for the dashboard's default sources. */
const rawStats = (db: Queryable, from: Date, to: Date, perHour: boolean) =>
  db
    .query<ProviderStats & { exact_p95: number | null; exact_p50: number | null }>(
      `select ${perHour ? `date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,` : ''}
              selected_provider,
              count(*) as total_count,
              count(*) filter (where status = 'succeeded') as succeeded_count,
              count(*) filter (where status = 'failed') as failed_count,
              count(*) filter (where fallback_used) as fallback_count,
              round(avg(fallback_used::integer), 6) as fallback_rate,
              round(avg(latency_ms), 2) as avg_latency_ms,
              percentile_cont(0.5) within group (order by latency_ms) as exact_p50,
              percentile_cont(0.95) within group (order by latency_ms) as exact_p95
         from ai_training_examples
        where source in ('generation', 'generation_cached')
          and created_at >= $1 and created_at < $2
        group by ${perHour ? '1, 2' : '1'}
        order by ${perHour ? '1, 2' : '1'}`,
      [from, to],
    )
    .then((result) => result.rows);

function expectWithinBound(estimate: number | null, exact: number | null): void {
  if (exact === null) {
    expect(estimate).toBeNull();
    return;
  }
  expect(estimate).not.toBeNull();
  expect(Math.abs(estimate! - exact)).toBeLessThanOrEqual(BOUND * exact + 1e-9);
}

describeEachDriver('ai_training_examples rollups', (use) => {
  const rows = dataset(900);

  beforeAll(async () => {
    const { db } = use();
    // Several statements, so the trigger merges into rows that earlier statements created.
    for (let offset = 0; offset < rows.length; offset += 250) {
      await insertRows(db, rows.slice(offset, offset + 250));
    }
  });

  it('hourly rollup counts equal the raw aggregates per hour, provider, strategy and source', async () => {
    const { db } = use();
    const raw = (await db.query(RAW_HOURLY)).rows;
    expect(raw.length).toBeGreaterThan(100);
    expect(await rollupRows(db, 'ai_training_examples_hourly')).toEqual(raw);
    expect(await histogramsConsistent(db, 'ai_training_examples_hourly')).toBe(true);
  });

  it('the per-user daily rollup equals the raw rows per user and UTC day, cost apart from unknown', async () => {
    const { db } = use();
    const raw = (await db.query(RAW_USER_DAILY)).rows;
    expect(raw.length).toBeGreaterThan(30);
    expect(await userDailyRows(db)).toEqual(raw);
    const { rows } = await db.query<{ unknown: number; free: number }>(
      `select sum(total_count - cost_count)::int as unknown,
              (select count(*) from ai_training_examples where cost_usd = 0 and user_id is not null)::int as free
         from ai_training_examples_user_daily`,
    );
    expect(rows[0]!.unknown).toBeGreaterThan(0);
    expect(rows[0]!.free).toBeGreaterThan(0);
  });

  it('the environment rollup counts generations and cache hits per hour and environment', async () => {
    const { db } = use();
    const raw = (await db.query(RAW_ENVIRONMENT_HOURLY)).rows;
    expect(raw.map((row) => row.environment)).toEqual(expect.arrayContaining(['prod', 'staging']));
    expect(await environmentRows(db)).toEqual(raw);
  });

  it('daily rollup equals the hourly rollup summed per UTC day', async () => {
    const { db } = use();
    const { rows: fromHourly } = await db.query(
      `select date_trunc('day', bucket_start at time zone 'UTC') at time zone 'UTC' as bucket_start,
              selected_provider, route_strategy, source,
              sum(total_count)::bigint as total_count, sum(succeeded_count)::bigint as succeeded_count,
              sum(failed_count)::bigint as failed_count, sum(fallback_count)::bigint as fallback_count,
              sum(latency_count)::bigint as latency_count, sum(latency_sum_ms)::bigint as latency_sum_ms,
              sum(cost_usd)::numeric(20, 6)::text as cost_usd, sum(cost_count)::bigint as cost_count
         from ai_training_examples_hourly
        where total_count <> 0
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4`,
    );
    expect(await rollupRows(db, 'ai_training_examples_daily')).toEqual(fromHourly);
    expect(await histogramsConsistent(db, 'ai_training_examples_daily')).toBe(true);
  });

  it('genloop_provider_stats matches raw counts and fallback rates, p95 within 5%, across day edges', async () => {
    const { db } = use();
    // Hour 5 of day 0 to hour 55 (day 2, 07:00): partial day, whole day, partial day.
    const from = new Date(BASE + 5 * HOUR);
    const to = new Date(BASE + 55 * HOUR);
    const exact = await rawStats(db, from, to, false);
    const { rows: stats } = await db.query<ProviderStats>(
      'select * from genloop_provider_stats($1, $2)',
      [from, to],
    );
    expect(stats.map((row) => row.selected_provider)).toEqual(
      exact.map((row) => row.selected_provider),
    );
    stats.forEach((row, index) => {
      const { exact_p95, exact_p50, ...counts } = exact[index]!;
      expect(row).toMatchObject(counts);
      expectWithinBound(row.p95_latency_ms, exact_p95);
    });
  });

  it('genloop_provider_hourly_stats matches raw per hour and provider, p95 within 5%', async () => {
    const { db } = use();
    const from = new Date(BASE + 20 * HOUR);
    const to = new Date(BASE + 44 * HOUR);
    const exact = await rawStats(db, from, to, true);
    const { rows: stats } = await db.query<ProviderStats & { p50_latency_ms: number | null }>(
      'select * from genloop_provider_hourly_stats($1, $2)',
      [from, to],
    );
    expect(stats.length).toBe(exact.length);
    stats.forEach((row, index) => {
      const { exact_p95, exact_p50, ...counts } = exact[index]!;
      expect(row).toMatchObject(counts);
      expectWithinBound(row.p95_latency_ms, exact_p95);
      expectWithinBound(row.p50_latency_ms, exact_p50);
    });
  });

  it('buckets by UTC hours and days whatever the session time zone', async () => {
    const { db } = use();
    const from = new Date(BASE + 5 * HOUR);
    const to = new Date(BASE + 55 * HOUR);
    const inUtc = (await db.query('select * from genloop_provider_stats($1, $2)', [from, to])).rows;
    const inKolkata = await db.transaction(async (tx) => {
      await tx.query(`select set_config('timezone', 'Asia/Kolkata', true)`);
      return (await tx.query('select * from genloop_provider_stats($1, $2)', [from, to])).rows;
    });
    expect(inKolkata).toEqual(inUtc);
  });

  it('updates and deletes keep the rollups equal to the raw aggregates', async () => {
    const { db } = use();
    await db.query(
      `update ai_training_examples set latency_ms = latency_ms * 3 + 1
        where selected_provider = 'openrouter' and latency_ms is not null`,
    );
    await db.query(
      `update ai_training_examples
          set created_at = created_at + interval '26 hours', route_strategy = 'weighted'
        where selected_provider = 'custom' and created_at < $1`,
      [new Date(BASE + 12 * HOUR)],
    );
    await db.query(
      `update ai_training_examples
          set cost_usd = case when cost_usd is null then 0.25 else null end,
              user_id = case when user_id is null then $1::uuid end,
              environment = coalesce(environment, 'qa')
        where route_strategy = 'fallback'`,
      [USERS[0]],
    );
    await db.query(`delete from ai_training_examples where source = 'generation_cached'`);
    expect(await rollupRows(db, 'ai_training_examples_hourly')).toEqual(
      (await db.query(RAW_HOURLY)).rows,
    );
    expect(await userDailyRows(db)).toEqual((await db.query(RAW_USER_DAILY)).rows);
    expect(await environmentRows(db)).toEqual((await db.query(RAW_ENVIRONMENT_HOURLY)).rows);
    expect(await histogramsConsistent(db, 'ai_training_examples_hourly')).toBe(true);
    expect(await histogramsConsistent(db, 'ai_training_examples_daily')).toBe(true);
  });

  it('an update of columns the rollups do not read writes no rollup row', async () => {
    const { db } = use();
    const versions = () =>
      Promise.all(
        [
          'select xmin::text as version, * from ai_training_examples_hourly order by 2, 3, 4, 5',
          'select xmin::text as version, * from ai_training_examples_user_daily order by 2, 3',
          'select xmin::text as version, * from ai_training_examples_environment_hourly order by 2, 3',
        ].map((sql) => db.query(sql).then((result) => result.rows)),
      );
    const before = await versions();
    await db.query(`update ai_training_examples set schema_valid = true`);
    expect(await versions()).toEqual(before);
  });

  it('genloop_refresh_rollups rebuilds the same rollups from the raw rows', async () => {
    const { db } = use();
    const hourly = await rollupRows(db, 'ai_training_examples_hourly');
    const daily = await rollupRows(db, 'ai_training_examples_daily');
    const users = await userDailyRows(db);
    const environments = await environmentRows(db);
    for (const table of ['hourly', 'daily', 'user_daily', 'environment_hourly']) {
      await db.query(`delete from ai_training_examples_${table}`);
    }
    const { rows } = await db.query<{ read: number }>(
      'select genloop_refresh_rollups($1, $2) as read',
      [new Date(BASE), new Date(BASE + 100 * HOUR)],
    );
    expect(rows[0]!.read).toBe(
      (await db.query<{ n: number }>('select count(*) as n from ai_training_examples')).rows[0]!.n,
    );
    expect(await rollupRows(db, 'ai_training_examples_hourly')).toEqual(hourly);
    expect(await rollupRows(db, 'ai_training_examples_daily')).toEqual(daily);
    expect(await userDailyRows(db)).toEqual(users);
    expect(await environmentRows(db)).toEqual(environments);
  });

  it('histogram percentiles are within 5% of percentile_cont for any latencies', async () => {
    const { db } = use();
    // Log-uniform latencies from 0 ms to an hour, as a histogram would meet them.
    const latency = fc
      .double({ min: 0, max: Math.log(3_600_000), noNaN: true })
      .map((exponent) => Math.round(Math.exp(exponent)) - 1);
    await fc.assert(
      fc.asyncProperty(
        fc.array(latency, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0, 0.5, 0.9, 0.95, 0.99, 1),
        async (values, fraction) => {
          const { rows } = await db.query<{ estimate: number; exact: number }>(
            `select genloop_histogram_percentile(
                      genloop_histogram_from_buckets(array_agg(genloop_latency_bucket(v)),
                                                     array_agg(1::bigint)),
                      $2) as estimate,
                    percentile_cont($2) within group (order by v) as exact
               from unnest($1::integer[]) as v`,
            [values, fraction],
          );
          expectWithinBound(rows[0]!.estimate, rows[0]!.exact);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('inserts are folded by a trigger whose planned statement is the rollup statement itself', async () => {
    const { db } = use();
    // The insert trigger's body is generated from genloop_rollup_apply_sql (it is planned once
    // per connection instead of on each statement): a migration that changes one must
    // regenerate the other.
    const { rows } = await db.query<{ trigger_function: string; body: string; expected: string }>(
      `select t.tgfoid::regproc::text as trigger_function, p.prosrc as body,
              public.genloop_training_examples_rollup_sql_for_insert() as expected
         from pg_trigger t join pg_proc p on p.oid = t.tgfoid
        where t.tgrelid = 'public.ai_training_examples'::regclass
          and t.tgname = 'ai_training_examples_rollup_insert'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.trigger_function).toBe('genloop_training_examples_rollup_inserted');
    expect(rows[0]!.body).toBe(rows[0]!.expected);
    expect(rows[0]!.body).toContain('from new_rows');
  });

  it('keeps the rollups and their functions service-only', async () => {
    const { db } = use();
    const { rows } = await db.query<Record<string, boolean>>(
      `select
         has_table_privilege('authenticated', 'public.ai_training_examples_hourly', 'select') as hourly,
         has_table_privilege('anon', 'public.ai_training_examples_daily', 'select') as daily,
         has_table_privilege('authenticated', 'public.ai_training_examples_user_daily', 'select') as users,
         has_table_privilege('authenticated', 'public.ai_training_examples_environment_hourly', 'select') as environments,
         has_function_privilege('authenticated',
           'public.genloop_provider_stats(timestamptz, timestamptz, text[])', 'execute') as stats,
         has_function_privilege('authenticated',
           'public.genloop_refresh_rollups(timestamptz, timestamptz)', 'execute') as refresh,
         has_function_privilege('service_role',
           'public.genloop_provider_hourly_stats(timestamptz, timestamptz, text[])', 'execute') as service`,
    );
    expect(rows[0]).toEqual({
      hourly: false,
      daily: false,
      users: false,
      environments: false,
      stats: false,
      refresh: false,
      service: true,
    });
  });
});
