/**
 * The rollups' latency histograms in JavaScript: bucket 1 holds 0 ms, bucket b >= 2 holds
 * latencies up to (21/19)^(b-2) ms and stands for 0.95 times that (see the rollups migration).
 * Merging histograms here instead of with `genloop_histogram_sum` is what keeps the overview's
 * 7-day window fast: the SQL aggregate adds element by element in PL/pgSQL, about 200 ms for the
 * 3 000 hourly rollup rows of a week at 10M rows, where reading them as text and adding them
 * here takes about 25 ms.
 */

const GROWTH = 21 / 19;

/**
 * Adds a histogram in Postgres's text form (`{0,3,12,…}`) to `into`, element by element,
 * growing it as needed; a NULL element counts as 0.
 */
export function addHistogramText(into: number[], text: string): void {
  let index = 0;
  let value = 0;
  let negative = false;
  for (let position = 0; position < text.length; position++) {
    const code = text.charCodeAt(position);
    if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
    } else if (code === 45) {
      negative = true;
    } else if (code === 44 || code === 125) {
      into[index] = (into[index] ?? 0) + (negative ? -value : value);
      index++;
      value = 0;
      negative = false;
    }
  }
}

/** Adds `histogram` to `into`, element by element, growing it as needed. */
export function addHistogram(into: number[], histogram: readonly number[]): void {
  for (let index = 0; index < histogram.length; index++) {
    into[index] = (into[index] ?? 0) + (histogram[index] ?? 0);
  }
}

/**
 * The `fraction` percentile of a histogram exactly as `genloop_histogram_percentile` reads it:
 * negative counts as 0, linear interpolation between the closest ranks like percentile_cont,
 * each rank at its bucket's value. Null for an empty histogram.
 */
export function histogramPercentile(histogram: readonly number[], fraction: number): number | null {
  let total = 0;
  for (const count of histogram) total += Math.max(count ?? 0, 0);
  if (total === 0) return null;
  const position = fraction * (total - 1);
  const lowRank = Math.floor(position);
  const highRank = Math.ceil(position);
  let cumulative = 0;
  let low: number | undefined;
  for (let index = 0; index < histogram.length; index++) {
    cumulative += Math.max(histogram[index] ?? 0, 0);
    if (low === undefined && cumulative > lowRank) low = bucketValue(index + 1);
    if (cumulative > highRank) {
      const high = bucketValue(index + 1);
      return low! + (position - lowRank) * (high - low!);
    }
  }
  return null;
}

/** The latency a bucket (1-based, as in SQL) stands for, as `genloop_latency_bucket_value`. */
export function bucketValue(bucket: number): number {
  return bucket <= 1 ? 0 : 0.95 * GROWTH ** (bucket - 2);
}
