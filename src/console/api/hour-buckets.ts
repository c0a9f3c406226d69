import { addHistogram, addHistogramText, histogramPercentile } from './histogram.ts';
import type { BucketRow, HourRollupRow } from './sql.ts';

interface Bucket {
  bucket_start: Date | null;
  provider: string | null;
  level: number;
  generations: number;
  succeeded: number;
  failed: number;
  fallbacks: number;
  histogram: number[];
}

const bucket = (bucket_start: Date | null, provider: string | null, level: number): Bucket => ({
  bucket_start,
  provider,
  level,
  generations: 0,
  succeeded: 0,
  failed: 0,
  fallbacks: 0,
  histogram: [],
});

const byProvider = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;

/**
 * The hourly rollup's rows merged into one bucket per hour and provider (level 0), one per
 * provider (level 2) and the overall total (level 3), each with its p95 latency: what
 * selectMinuteBuckets gives for raw rows, in the same order (buckets oldest first, then the
 * totals; within each, the provider-less generations first, then by provider).
 */
export function hourBuckets(rows: readonly HourRollupRow[]): BucketRow[] {
  const hours = new Map<string, Bucket>();
  for (const row of rows) {
    const key = `${row.bucket_start.getTime()}|${row.provider ?? ''}`;
    let hour = hours.get(key);
    if (!hour) {
      hour = bucket(row.bucket_start, row.provider, 0);
      hours.set(key, hour);
    }
    add(hour, row);
    addHistogramText(hour.histogram, row.latency_histogram);
  }
  const ordered = [...hours.values()].sort(
    (a, b) =>
      a.bucket_start!.getTime() - b.bucket_start!.getTime() || byProvider(a.provider, b.provider),
  );
  const providers = new Map<string | null, Bucket>();
  const total = bucket(null, null, 3);
  for (const hour of ordered) {
    let provider = providers.get(hour.provider);
    if (!provider) {
      provider = bucket(null, hour.provider, 2);
      providers.set(hour.provider, provider);
    }
    for (const into of [provider, total]) {
      add(into, hour);
      addHistogram(into.histogram, hour.histogram);
    }
  }
  const totals = [...providers.values()].sort((a, b) => byProvider(a.provider, b.provider));
  return [...ordered, total, ...totals].map(({ histogram, ...counts }) => ({
    ...counts,
    p95_latency_ms: histogramPercentile(histogram, 0.95),
  }));
}

function add(
  into: Bucket,
  counts: Omit<HourRollupRow, 'bucket_start' | 'provider' | 'latency_histogram'>,
) {
  into.generations += counts.generations;
  into.succeeded += counts.succeeded;
  into.failed += counts.failed;
  into.fallbacks += counts.fallbacks;
}
