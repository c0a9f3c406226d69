/**
 * The eval metrics as SQL aggregates: the expressions the view `ai_eval_run_summary_v1` computes
 * per run, for queries that measure other rows the same way (a canary's check over live
 * telemetry). {@link MetricsAccumulator} computes the same numbers in TypeScript; a test runs all
 * three over one set of samples and compares them.
 *
 * Only column names written in genloop's own code go in here, never input.
 */

/**
 * A rate: true values out of the rows where the column is not null (`avg` skips nulls), rounded
 * to 6 decimals; null when no row observed it.
 *
 * @example
 * `select ${rateSql('fallback_used')} as fallback_rate from public.ai_eval_samples`
 */
export function rateSql(column: string): string {
  return `round(avg((${column})::integer), 6)`;
}

/** The 95th percentile, continuous (interpolated between ranks), rounded to 3 decimals. */
export function p95Sql(column: string): string {
  return `round((percentile_cont(0.95) within group (order by (${column})::double precision))::numeric, 3)`;
}
