/** Whole milliseconds since `since` (a `performance.now()` reading), never negative. */
export function elapsedMs(since: number): number {
  return Math.max(0, Math.round(performance.now() - since));
}
