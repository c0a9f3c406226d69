import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Queryable } from '../../db/types.ts';
import { serialise } from '../../http/route-helpers.ts';
import { validationHook } from '../../http/validation.ts';
import {
  ADMIN_PREFIX,
  type CacheHitRate,
  type EvalRun,
  type Job,
  type OverviewPoint,
  OverviewQuerySchema,
  OverviewSchema,
  type ProviderCooldown,
  type Window,
} from '../contract.ts';
import { hourBuckets } from './hour-buckets.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, problem, rowsAs } from './shared.ts';
import {
  type BucketRow,
  type CacheBucketRow,
  selectCooldowns,
  selectFailedGates,
  selectHourCacheBuckets,
  selectHourRollups,
  selectLatestEvalRun,
  selectMinuteBuckets,
  selectMinuteCacheBuckets,
  selectOldestWaiting,
  selectQueueDepth,
} from './sql.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WINDOW_MS: Record<Window, number> = { '1h': HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR };

/**
 * The first bucket of a window ending now: whole minutes for the last hour, whole UTC hours
 * otherwise (the rollups' grain), so the first bucket is complete however the page is timed.
 */
export function windowStart(window: Window, now: number): Date {
  const grain = window === '1h' ? MINUTE : HOUR;
  return new Date(Math.floor((now - WINDOW_MS[window]) / grain) * grain);
}

/** `GET /api/v1/admin/overview`: how generation is going, at a glance. */
export function overviewRoutes({ db, config }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/overview`,
      tags: ['admin'],
      summary:
        'Generations, success, fallback and p95 per provider over a window; queue; cooldowns; latest eval',
      security: adminSecurity,
      request: { query: OverviewQuerySchema },
      responses: {
        200: {
          description: 'The overview',
          content: { 'application/json': { schema: OverviewSchema } },
        },
        400: problem('Unknown window or malformed environment'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { window, environment = config.environment } = c.req.valid('query');
      const now = Date.now();
      const from = windowStart(window, now);
      const to = new Date(now);
      const [buckets, cache, providers, queue, oldest, latestEval] = await Promise.all([
        window === '1h'
          ? selectMinuteBuckets(db, from, to)
          : selectHourRollups(db, from, to).then(hourBuckets),
        window === '1h'
          ? selectMinuteCacheBuckets(db, from, to, environment)
          : selectHourCacheBuckets(db, from, to, environment),
        selectCooldowns(db, environment),
        selectQueueDepth(db),
        selectOldestWaiting(db),
        latestEvalRun(db),
      ]);
      const body: z.infer<typeof OverviewSchema> = {
        window,
        environment,
        bucket: window === '1h' ? 'minute' : 'hour',
        from: from.toISOString(),
        to: to.toISOString(),
        read_from: window === '1h' ? 'raw' : 'rollup',
        series: seriesOf(buckets),
        totals: {
          ...rates(buckets.find((row) => row.level === 3)),
          by_provider: buckets
            .filter((row) => row.level === 2)
            .map((row) => ({ provider: row.provider, ...rates(row) })),
        },
        providers: rowsAs<ProviderCooldown>(providers),
        jobs: { ...queue, oldest_waiting: oldest ? (serialise(oldest) as Job) : null },
        latest_eval: latestEval,
        cache: cacheHitRate(environment, cache),
      };
      return c.json(body, 200);
    },
  );
  return app;
}

/** Counts and rates of a bucket (zeros for a window without generations). */
function rates(row: BucketRow | undefined): Omit<OverviewPoint, 'bucket_start'> {
  const generations = row?.generations ?? 0;
  const ratio = (count: number) => (generations === 0 ? null : round(count / generations, 6));
  return {
    generations,
    succeeded: row?.succeeded ?? 0,
    failed: row?.failed ?? 0,
    fallbacks: row?.fallbacks ?? 0,
    success_rate: ratio(row?.succeeded ?? 0),
    fallback_rate: ratio(row?.fallbacks ?? 0),
    p95_latency_ms: row?.p95_latency_ms == null ? null : round(row.p95_latency_ms, 1),
  };
}

/** The cache hit rate of an environment over the window and per bucket. */
function cacheHitRate(environment: string, rows: readonly CacheBucketRow[]): CacheHitRate {
  const hitRate = (cached: number, generations: number) =>
    generations === 0 ? null : round(cached / generations, 6);
  let generations = 0;
  let cached = 0;
  for (const row of rows) {
    generations += row.generations;
    cached += row.cached;
  }
  return {
    environment,
    generations,
    cached,
    hit_rate: hitRate(cached, generations),
    points: rows.map((row) => ({
      bucket_start: row.bucket_start.toISOString(),
      generations: row.generations,
      cached: row.cached,
      hit_rate: hitRate(row.cached, row.generations),
    })),
  };
}

/** The per-bucket rows grouped into one series per provider, buckets oldest first. */
function seriesOf(rows: readonly BucketRow[]): z.infer<typeof OverviewSchema>['series'] {
  const series = new Map<string | null, OverviewPoint[]>();
  for (const row of rows) {
    if (row.level !== 0 || row.bucket_start === null) continue;
    const points = series.get(row.provider) ?? [];
    points.push({ bucket_start: row.bucket_start.toISOString(), ...rates(row) });
    series.set(row.provider, points);
  }
  return [...series].map(([provider, points]) => ({ provider, points }));
}

/** The latest eval run with its failed gates, or null before the first run. */
export async function latestEvalRun(db: Queryable): Promise<EvalRun | null> {
  const run = await selectLatestEvalRun(db);
  if (!run) return null;
  const gates = await selectFailedGates(db, [run.run_id]);
  return {
    ...(serialise(run) as Omit<EvalRun, 'failed_gates'>),
    failed_gates: gates.map(({ run_id: _run, ...gate }) => gate as EvalRun['failed_gates'][number]),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
