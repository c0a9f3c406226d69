import { expect, it } from 'vitest';
import { histogramPercentile } from '../../src/console/api/histogram.ts';
import { hourBuckets } from '../../src/console/api/hour-buckets.ts';
import { type BucketRow, selectHourRollups } from '../../src/console/api/sql.ts';
import { describeEachDriver } from '../helpers/db.ts';

const HOUR = 3_600_000;

// The overview merged the hourly rollup in SQL before its histograms were merged in JavaScript;
// that statement is kept here as the reference the JavaScript must agree with.
const SQL_BUCKETS = `
with buckets as (
  select bucket_start, selected_provider,
         sum(total_count) as generations, sum(succeeded_count) as succeeded,
         sum(failed_count) as failed, sum(fallback_count) as fallbacks,
         public.genloop_histogram_sum(latency_histogram) as histogram
    from public.ai_training_examples_hourly
   where bucket_start >= $1 and bucket_start < $2
     and source in ('generation', 'generation_cached')
   group by bucket_start, selected_provider
)
select bucket_start,
       nullif(selected_provider, 'none') as provider,
       grouping(bucket_start, selected_provider) as level,
       sum(generations)::int as generations,
       sum(succeeded)::int as succeeded,
       sum(failed)::int as failed,
       sum(fallbacks)::int as fallbacks,
       public.genloop_histogram_percentile(public.genloop_histogram_sum(histogram), 0.95)
         as p95_latency_ms
  from buckets
 group by grouping sets ((bucket_start, selected_provider), (selected_provider), ())
 order by 1 nulls last, 2 nulls first`;

describeEachDriver('overview hour buckets', (use) => {
  it('merge the hourly rollup as genloop_histogram_sum and genloop_histogram_percentile do', async () => {
    const { db } = use();
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    // 30 hours of generations over providers (and none), strategies, both generation sources,
    // failures (those without a provider among them), fallbacks and missing latencies; import
    // rows the overview leaves out.
    await db.query(
      `insert into public.ai_training_examples
         (user_id, request_id, source, recipe, status, route_strategy, selected_provider,
          fallback_used, fallback_provider, latency_ms, prompt_template_version, created_at)
       select gen_random_uuid(), gen_random_uuid(),
              case when n % 97 = 0 then 'import' when n % 7 = 0 then 'generation_cached'
                   else 'generation' end,
              'site',
              case when n % 23 = 0 or n % 41 = 0 then 'failed' else 'succeeded' end,
              (array['single_provider', 'weighted', 'fallback'])[1 + n % 3],
              case when n % 41 = 0 then null
                   else (array['openai', 'custom', 'openrouter'])[1 + n % 5 % 3] end,
              n % 19 = 0,
              case when n % 19 = 0 then 'custom' end,
              case when n % 53 = 0 then null
                   else (exp(ln(900) + 1.2 * sin(n * 12.9898)) + (n % 11) * 37)::integer end,
              'site-v1',
              to_timestamp($1::float8 / 1000) - (n % 1800) * interval '1 minute'
         from generate_series(1, 6000) as n`,
      [end],
    );
    const from = new Date(end - 30 * HOUR);
    const to = new Date(end + HOUR);

    const expected = (await db.query<BucketRow>(SQL_BUCKETS, [from, to])).rows;
    const actual = hourBuckets(await selectHourRollups(db, from, to));

    // The SQL gives the overall total and the 'none' provider's total, both without a provider,
    // in either order.
    const key = (row: BucketRow) =>
      `${row.level}/${row.bucket_start?.toISOString() ?? ''}/${row.provider ?? ''}`;
    expect(actual.map(key).sort()).toEqual(expected.map(key).sort());
    expect(actual.filter((row) => row.level === 0).map(key)).toEqual(
      expected.filter((row) => row.level === 0).map(key),
    );
    const byKey = new Map(expected.map((row) => [key(row), row]));
    for (const row of actual) {
      const reference = byKey.get(key(row))!;
      expect({ ...row, p95_latency_ms: undefined }).toEqual({
        ...reference,
        p95_latency_ms: undefined,
      });
      if (reference.p95_latency_ms === null) expect(row.p95_latency_ms).toBeNull();
      else expect(row.p95_latency_ms).toBeCloseTo(reference.p95_latency_ms, 6);
    }
    expect(actual.find((row) => row.level === 3)?.generations).toBeGreaterThan(5000);
  });

  it('read a percentile as genloop_histogram_percentile does, negative counts as zero', async () => {
    const { db } = use();
    const histograms = [
      [0, 0, 5, 0, 12, 3, 0, 1],
      [7],
      [0, 0, 0],
      [],
      [2, -4, 3, 0, 9],
      Array.from({ length: 153 }, (_, index) => (index * 7919) % 13),
    ];
    for (const histogram of histograms) {
      for (const fraction of [0, 0.5, 0.95, 1]) {
        const { rows } = await db.query<{ value: number | null }>(
          'select public.genloop_histogram_percentile($1::bigint[], $2) as value',
          [histogram, fraction],
        );
        const value = histogramPercentile(histogram, fraction);
        if (rows[0]!.value === null) expect(value).toBeNull();
        else expect(value).toBeCloseTo(rows[0]!.value, 9);
      }
    }
  });
});
