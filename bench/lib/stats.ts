/**
 * The `fraction` quantile with linear interpolation between closest ranks (as Postgres's
 * percentile_cont); pass `sorted` when the values already are, to skip the copy.
 */
export function percentile(values: readonly number[], fraction: number, sorted = false): number {
  if (values.length === 0) return Number.NaN;
  const ordered = sorted ? values : [...values].sort((a, b) => a - b);
  const position = fraction * (ordered.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return ordered[low]! + (position - low) * (ordered[high]! - ordered[low]!);
}

/** Rounds to `digits` decimals (NaN stays NaN, shown as an empty cell). */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
