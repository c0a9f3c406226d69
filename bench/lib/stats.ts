import { percentileCont } from '../../src/eval/percentile.ts';
/**
 * The `fraction` quantile with linear interpolation between closest ranks, exactly as Postgres's
 * percentile_cont (and genloop's evals) compute it; pass `sorted` when the values already are,
 * to skip the copy. NaN for no values, shown as an empty cell.
 */
export function percentile(values: readonly number[], fraction: number, sorted = false): number {
  const ordered = sorted ? values : [...values].sort((a, b) => a - b);
  return percentileCont(ordered, fraction) ?? Number.NaN;
}

/** Rounds to `digits` decimals (NaN stays NaN, shown as an empty cell). */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
