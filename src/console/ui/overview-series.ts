import type { Overview, OverviewPoint } from '../contract.ts';
import { PROVIDERS } from './choices.ts';
import type { ChartSeries } from './components/chart.ts';

const BUCKET_SECONDS = { minute: 60, hour: 3600 } as const;

export interface OverviewCharts {
  /** Bucket starts, unix seconds, every bucket of the window (empty ones included). */
  x: number[];
  perMinute: ChartSeries[];
  successRate: ChartSeries[];
  fallbackRate: ChartSeries[];
  p95: ChartSeries[];
  /** The response cache's hit rate in the overview's environment. */
  cacheHitRate: ChartSeries[];
}

const sum = (points: OverviewPoint[], pick: (point: OverviewPoint) => number) =>
  points.reduce((total, point) => total + pick(point), 0);

/**
 * Turns the overview's per-provider buckets into chart series over every bucket of the window:
 * the API lists only buckets that had generations, and a quiet hour should read as zero
 * generations (and no rate at all), not be skipped over by the line.
 */
export function overviewCharts(overview: Overview): OverviewCharts {
  const step = BUCKET_SECONDS[overview.bucket];
  const first = Math.floor(Date.parse(overview.from) / 1000 / step) * step;
  const last = Math.floor((Date.parse(overview.to) - 1) / 1000 / step) * step;
  const x: number[] = [];
  for (let at = first; at <= last && x.length < 10_000; at += step) x.push(at);
  const index = new Map(x.map((at, position) => [at, position]));

  const byBucket: OverviewPoint[][] = x.map(() => []);
  const p95: ChartSeries[] = [];
  for (const series of overview.series) {
    const values: (number | null)[] = x.map(() => null);
    for (const point of series.points) {
      const position = index.get(Math.floor(Date.parse(point.bucket_start) / 1000 / step) * step);
      if (position === undefined) continue;
      byBucket[position]!.push(point);
      values[position] = point.p95_latency_ms;
    }
    if (series.provider !== null) {
      const known = PROVIDERS.indexOf(series.provider as (typeof PROVIDERS)[number]);
      p95.push({ label: series.provider, values, color: known === -1 ? PROVIDERS.length : known });
    }
  }
  p95.sort((left, right) => (left.color ?? 0) - (right.color ?? 0));
  const hitRates: (number | null)[] = x.map(() => null);
  for (const point of overview.cache.points) {
    const position = index.get(Math.floor(Date.parse(point.bucket_start) / 1000 / step) * step);
    if (position !== undefined) hitRates[position] = point.hit_rate;
  }
  const rate = (pick: (point: OverviewPoint) => number) =>
    byBucket.map((points) => {
      const generations = sum(points, (point) => point.generations);
      return generations === 0 ? null : sum(points, pick) / generations;
    });
  return {
    x,
    perMinute: [
      {
        label: 'generations / min',
        values: byBucket.map((points) => sum(points, (point) => point.generations) / (step / 60)),
      },
    ],
    successRate: [{ label: 'success rate', values: rate((point) => point.succeeded) }],
    fallbackRate: [{ label: 'fallback rate', values: rate((point) => point.fallbacks) }],
    p95,
    cacheHitRate: [{ label: 'cache hit rate', values: hitRates }],
  };
}
