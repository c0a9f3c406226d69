import type { Queryable, Row } from '../../db/types.ts';

/**
 * The admin API's queries. They run as genloop's own role (an operator sees every user's rows),
 * read the rollups where those can answer, and page by keyset so a page costs the same on the
 * first page as on the thousandth.
 */

/** The form keyset cursors carry a time in (see http/cursor.ts). */
const CURSOR_TS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
/** Telemetry of generations, as the rollups and the dashboards count them. */
const GENERATION_SOURCES = `('generation', 'generation_cached')`;

export type Keyset = { at: string; id: string } | undefined;

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------

export interface BucketRow {
  /** null on the per-provider and overall totals (grouping sets). */
  bucket_start: Date | null;
  provider: string | null;
  /** 0: one bucket of one provider; 2: a provider's total; 3: the overall total. */
  level: number;
  generations: number;
  succeeded: number;
  failed: number;
  fallbacks: number;
  p95_latency_ms: number | null;
}

/**
 * Per-minute buckets per provider from the raw rows of a short window, with each provider's
 * totals and the overall total in the same pass.
 */
export async function selectMinuteBuckets(
  db: Queryable,
  from: Date,
  to: Date,
): Promise<BucketRow[]> {
  const { rows } = await db.query<BucketRow>(
    `select date_trunc('minute', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
            selected_provider as provider,
            grouping(date_trunc('minute', created_at at time zone 'UTC'), selected_provider) as level,
            count(*)::int as generations,
            (count(*) filter (where status = 'succeeded'))::int as succeeded,
            (count(*) filter (where status = 'failed'))::int as failed,
            (count(*) filter (where fallback_used))::int as fallbacks,
            percentile_cont(0.95) within group (order by latency_ms) as p95_latency_ms
       from public.ai_training_examples
      where source in ${GENERATION_SOURCES} and created_at >= $1 and created_at < $2
      group by grouping sets (
        (date_trunc('minute', created_at at time zone 'UTC'), selected_provider),
        (selected_provider),
        ()
      )
      order by 1 nulls last, 2 nulls first`,
    [from, to],
  );
  return rows;
}

export interface HourRollupRow {
  bucket_start: Date;
  /** null for generations no provider answered (the rollups' 'none'). */
  provider: string | null;
  generations: number;
  succeeded: number;
  failed: number;
  fallbacks: number;
  /** The latency histogram in Postgres's text form, `{0,3,12,…}`. */
  latency_histogram: string;
}

/**
 * The hourly rollup's rows of a window (one per hour, provider, strategy and source), with their
 * histograms as text: hour-buckets.ts merges them, which is several times faster than merging
 * them here with genloop_histogram_sum.
 */
export async function selectHourRollups(
  db: Queryable,
  from: Date,
  to: Date,
): Promise<HourRollupRow[]> {
  const { rows } = await db.query<HourRollupRow>(
    `select bucket_start, nullif(selected_provider, 'none') as provider,
            total_count as generations, succeeded_count as succeeded, failed_count as failed,
            fallback_count as fallbacks, latency_histogram::text as latency_histogram
       from public.ai_training_examples_hourly
      where bucket_start >= $1 and bucket_start < $2 and source in ${GENERATION_SOURCES}`,
    [from, to],
  );
  return rows;
}

export interface CacheBucketRow {
  bucket_start: Date;
  generations: number;
  cached: number;
}

/** Generations of one environment and how many the response cache answered, per minute. */
export async function selectMinuteCacheBuckets(
  db: Queryable,
  from: Date,
  to: Date,
  environment: string,
): Promise<CacheBucketRow[]> {
  const { rows } = await db.query<CacheBucketRow>(
    `select date_trunc('minute', created_at at time zone 'UTC') at time zone 'UTC' as bucket_start,
            count(*)::int as generations,
            (count(*) filter (where source = 'generation_cached'))::int as cached
       from public.ai_training_examples
      where source in ${GENERATION_SOURCES} and created_at >= $1 and created_at < $2
        and environment = $3
      group by 1
      order by 1`,
    [from, to, environment],
  );
  return rows;
}

/** The same per hour, from the environment rollup (one row per hour). */
export async function selectHourCacheBuckets(
  db: Queryable,
  from: Date,
  to: Date,
  environment: string,
): Promise<CacheBucketRow[]> {
  const { rows } = await db.query<CacheBucketRow>(
    `select bucket_start, generation_count::int as generations, cached_count::int as cached
       from public.ai_training_examples_environment_hourly
      where bucket_start >= $1 and bucket_start < $2 and environment = $3
        and generation_count > 0
      order by bucket_start`,
    [from, to, environment],
  );
  return rows;
}

export interface CooldownRow {
  provider: string;
  consecutive_failures: number;
  cooldown_until: Date | null;
  cooling_down: boolean;
  last_error_class: string | null;
}

/** The cooldown state of each provider configured in `environment`. */
export async function selectCooldowns(db: Queryable, environment: string): Promise<CooldownRow[]> {
  const { rows } = await db.query<CooldownRow>(
    `select c.provider,
            coalesce(h.consecutive_failures, 0) as consecutive_failures,
            h.cooldown_until,
            coalesce(h.cooldown_until > now(), false) as cooling_down,
            h.last_error_class
       from public.ai_provider_configs c
       left join public.ai_provider_health h
         on h.provider = c.provider and h.environment = c.environment
      where c.environment = $1
      order by c.provider`,
    [environment],
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

export const JOB_COLUMNS = `id, user_id, recipe, status, attempts, max_attempts, provider, model, prompt_version,
  mode, request_id, error, tokens_input, tokens_output, cost_usd, run_after, lease_until,
  created_at, updated_at, started_at, finished_at`;

/** Pending and running jobs, whatever their age (both read their partial indexes). */
export async function selectQueueDepth(
  db: Queryable,
): Promise<{ waiting: number; running: number }> {
  const { rows } = await db.query<{ waiting: number; running: number }>(
    `select (select count(*) from public.ai_generations where status = 'pending')::int as waiting,
            (select count(*) from public.ai_generations where status = 'running')::int as running`,
  );
  return rows[0]!;
}

/** The pending job that has waited longest to run. */
export async function selectOldestWaiting(db: Queryable): Promise<Row | undefined> {
  const { rows } = await db.query(
    `select ${JOB_COLUMNS} from public.ai_generations
      where status = 'pending'
      order by run_after, id
      limit 1`,
  );
  return rows[0];
}

/** Jobs created since `from`, counted by recipe and status. */
export async function selectJobCounts(
  db: Queryable,
  from: Date,
): Promise<{ recipe: string; status: string; count: number }[]> {
  const { rows } = await db.query<{ recipe: string; status: string; count: number }>(
    `select recipe, status, count(*)::int as count
       from public.ai_generations
      where created_at >= $1
      group by recipe, status
      order by recipe, status`,
    [from],
  );
  return rows;
}

/** A page of failed and timed-out jobs, most recently finished first. */
export async function selectFailedJobs(
  db: Queryable,
  { recipe, after, limit }: { recipe: string | undefined; after: Keyset; limit: number },
): Promise<(Row & { id: string; cursor_ts: string })[]> {
  const { rows } = await db.query<Row & { id: string; cursor_ts: string }>(
    `select ${JOB_COLUMNS},
            to_char(finished_at at time zone 'utc', ${CURSOR_TS}) as cursor_ts
       from public.ai_generations
      where status in ('failed', 'timed_out')
        and ($1::text is null or recipe = $1)
        and ($2::timestamptz is null or (finished_at, id) < ($2::timestamptz, $3::uuid))
      order by finished_at desc, id desc
      limit $4`,
    [recipe ?? null, after?.at ?? null, after?.id ?? null, limit],
  );
  return rows;
}

export async function selectJob(db: Queryable, id: string): Promise<Row | undefined> {
  const { rows } = await db.query(
    `select ${JOB_COLUMNS} from public.ai_generations where id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * Puts a failed, timed-out or canceled job back in the queue as if new: no attempts used, no
 * lease, no error, and no provider prediction (a new run must not resume the one that failed).
 * Undefined when the job is not in one of those states (the row lock makes that the only
 * answer for a second, concurrent retry).
 */
export async function requeueJob(
  db: Queryable,
  id: string,
): Promise<(Row & { user_id: string; recipe: string }) | undefined> {
  const { rows } = await db.query<Row & { user_id: string; recipe: string }>(
    `update public.ai_generations
        set status = 'pending', attempts = 0, run_after = now(), lease_until = null,
            locked_by = null, started_at = null, finished_at = null, error = null,
            provider_prediction_id = null
      where id = $1 and status in ('failed', 'timed_out', 'canceled')
      returning ${JOB_COLUMNS}`,
    [id],
  );
  return rows[0];
}

/**
 * Takes the quota unit of a retried job again, once. Its earlier run ended with the refund keyed
 * `final:<id>`; that entry is re-keyed (its amount stays), which frees the key for the final
 * entry of the new run, and a new reservation is written keyed by the re-keyed entry's id, so
 * each retry reserves once and each run settles or refunds once. A job whose earlier run was
 * never refunded (no reservation, or kept as spent) is left as it is. Returns whether a unit
 * was taken.
 */
export async function reReserveRetriedJob(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `with reopened as (
       update public.usage_ledger
          set idempotency_key = 'retried:' || id::text
        where idempotency_key = 'final:' || $1::uuid::text and kind = 'refund'
        returning id, user_id
     )
     insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key, metadata)
     select user_id, $1::uuid, 'reserve', -1, 'reserve:' || $1::uuid::text || ':' || id::text,
            jsonb_build_object('reason', 'retry')
       from reopened
     on conflict (idempotency_key) do nothing`,
    [id],
  );
  return rowCount > 0;
}

/** Wakes the workers of `recipe` (a requeued job is not an insert, which notifies by itself). */
export async function notifyJobs(db: Queryable, recipe: string): Promise<void> {
  await db.query(`select pg_notify('genloop_jobs', $1)`, [recipe]);
}

/** Cancels a pending or running job; its trigger gives the quota unit back. */
export async function cancelJob(
  db: Queryable,
  id: string,
): Promise<(Row & { user_id: string }) | undefined> {
  const { rows } = await db.query<Row & { user_id: string }>(
    `update public.ai_generations
        set status = 'canceled', finished_at = now(), lease_until = null, locked_by = null
      where id = $1 and status in ('pending', 'running')
      returning ${JOB_COLUMNS}`,
    [id],
  );
  return rows[0];
}

// ---------------------------------------------------------------------------------------------
// Generations
// ---------------------------------------------------------------------------------------------

const GENERATION_FIELDS = [
  'id',
  'request_id',
  'created_at',
  'source',
  'recipe',
  'status',
  'user_id',
  'generation_id',
  'requested_provider',
  'selected_provider',
  'fallback_provider',
  'fallback_used',
  'route_strategy',
  'latency_ms',
  'model',
  'prompt_template_version',
  'tokens_input',
  'tokens_output',
  'cost_usd',
];

/** `fields` as a select list, each qualified by `alias`. */
const qualified = (alias: string, fields: readonly string[]) =>
  fields.map((field) => `${alias}.${field}`).join(', ');

export interface GenerationFilters {
  provider?: string | undefined;
  route_strategy?: string | undefined;
  status?: string | undefined;
  fallback_used?: boolean | undefined;
  source?: string | undefined;
  recipe?: string | undefined;
  user_id?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Columns a filter compares with equality, and the type its value is cast to. */
const EQUALITY_FILTERS = {
  provider: ['selected_provider', 'text'],
  route_strategy: ['route_strategy', 'text'],
  status: ['status', 'text'],
  fallback_used: ['fallback_used', 'boolean'],
  source: ['source', 'text'],
  recipe: ['recipe', 'text'],
  user_id: ['user_id', 'uuid'],
} as const;

/**
 * A page of telemetry rows, newest first, created in `within` when given (the search of
 * generation-search.ts reads the table one stretch of hours at a time). Only the filters given
 * reach the statement, so the planner can pick the index of the one that narrows most
 * (console_indexes migration: each filter has one). The page's ids are found first and its rows
 * read after: where the index carries the other filter columns (the created_at index, and those
 * of failed rows and of fallbacks), the search filters inside it without reading a table row per
 * candidate.
 */
export async function selectGenerations(
  db: Queryable,
  {
    filters,
    after,
    limit,
    within,
  }: {
    filters: GenerationFilters;
    after: Keyset;
    limit: number;
    within?: { from: Date; to: Date | undefined };
  },
): Promise<(Row & { id: string; cursor_ts: string })[]> {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  const where = generationConditions(filters, after, param);
  if (within !== undefined) {
    where.push(`created_at >= ${param(within.from, 'timestamptz')}`);
    if (within.to !== undefined) where.push(`created_at < ${param(within.to, 'timestamptz')}`);
  }
  const { rows } = await db.query<Row & { id: string; cursor_ts: string }>(
    `select ${qualified('t', GENERATION_FIELDS)},
            to_char(t.created_at at time zone 'utc', ${CURSOR_TS}) as cursor_ts
       from (select id, created_at
               from public.ai_training_examples
              ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
              order by created_at desc, id desc
              limit ${param(limit, 'int')}) page
       join public.ai_training_examples t on t.id = page.id
      order by page.created_at desc, page.id desc`,
    params,
  );
  return rows;
}

/** The conditions of the filters given and of the cursor, their values added through `param`. */
function generationConditions(
  filters: GenerationFilters,
  after: Keyset,
  param: (value: unknown, type: string) => string,
): string[] {
  const where: string[] = [];
  for (const [key, [column, type]] of Object.entries(EQUALITY_FILTERS)) {
    const value = filters[key as keyof typeof EQUALITY_FILTERS];
    if (value !== undefined) where.push(`${column} = ${param(value, type)}`);
  }
  if (filters.from !== undefined) where.push(`created_at >= ${param(filters.from, 'timestamptz')}`);
  if (filters.to !== undefined) where.push(`created_at < ${param(filters.to, 'timestamptz')}`);
  if (after !== undefined) {
    where.push(
      `(created_at, id) < (${param(after.at, 'timestamptz')}, ${param(after.id, 'uuid')})`,
    );
  }
  return where;
}

/**
 * When the newest row with the filters' recipe (and within their time range, before the cursor)
 * was created: one probe of the recipe's index. Undefined when there is none.
 */
export async function selectNewestOfRecipe(
  db: Queryable,
  { filters, after }: { filters: GenerationFilters; after: Keyset },
): Promise<Date | undefined> {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  const { from, to, recipe } = filters;
  const where = generationConditions({ from, to, recipe }, after, param);
  const { rows } = await db.query<{ created_at: Date }>(
    `select created_at from public.ai_training_examples
      where ${where.join(' and ')}
      order by created_at desc
      limit 1`,
    params,
  );
  return rows[0]?.created_at;
}

/**
 * The hours of the oldest and the newest telemetry rows (two index probes); undefined for an
 * empty table. The rollups outlive pruned rows, so they cannot tell.
 */
export async function selectRowHours(
  db: Queryable,
): Promise<{ oldest: Date; newest: Date } | undefined> {
  const { rows } = await db.query<{ oldest: Date | null; newest: Date | null }>(
    `select date_trunc('hour', min(created_at) at time zone 'UTC') at time zone 'UTC' as oldest,
            date_trunc('hour', max(created_at) at time zone 'UTC') at time zone 'UTC' as newest
       from public.ai_training_examples`,
  );
  const { oldest, newest } = rows[0] ?? {};
  return oldest && newest ? { oldest, newest } : undefined;
}

export interface HourCount {
  bucket_start: Date;
  /**
   * Index entries a search of the hour reads at most: its rows, or fewer where a filter has a
   * partial index of its own (failed rows, fallbacks), or a fraction of a filter's rows for
   * an index that does not carry the other filter columns (each entry then costs a table row).
   */
  work: number;
  /**
   * At least as many as the rows of the hour that match the filters the rollup can tell apart
   * (provider, route strategy, source, status, fallback used): 0 means none does.
   */
  matches: number;
}

/** What reading a table row costs, in index entries read in order. */
const TABLE_ROW_COST = 20;

/**
 * Per hour, newest first, from the hourly rollup: what searching the hour costs and an upper
 * bound of its rows that match `filters`, for the hours from `upTo` (open when undefined) down
 * to `downTo` (hour starts, inclusive). With `grain: 'day'` the same per UTC day, from the daily
 * rollup: a twenty-fourth of the rows to read, to tell which days can hold a match at all.
 */
export async function selectHourCounts(
  db: Queryable,
  {
    filters,
    upTo,
    downTo,
    grain = 'hour',
  }: {
    filters: GenerationFilters;
    upTo: Date | undefined;
    downTo: Date;
    grain?: 'hour' | 'day';
  },
): Promise<HourCount[]> {
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  const group: string[] = [];
  const work = ['sum(total_count)'];
  const indexed = (condition: string) =>
    work.push(`${TABLE_ROW_COST} * coalesce(sum(total_count) filter (where ${condition}), 0)`);
  if (filters.provider !== undefined) {
    group.push(`selected_provider = ${param(filters.provider, 'text')}`);
    indexed(group.at(-1)!);
  }
  if (filters.route_strategy !== undefined) {
    group.push(`route_strategy = ${param(filters.route_strategy, 'text')}`);
    indexed(group.at(-1)!);
  }
  if (filters.source !== undefined) {
    group.push(`source = ${param(filters.source, 'text')}`);
    // Only the sources other than 'generation' have an index.
    if (filters.source !== 'generation') indexed(group.at(-1)!);
  }
  // Counts within a group: one filter's count is exact, the smaller of two an upper bound.
  const counts: string[] = [];
  if (filters.status !== undefined) {
    counts.push(filters.status === 'failed' ? 'failed_count' : 'succeeded_count');
    if (filters.status === 'failed') work.push('sum(failed_count)');
  }
  if (filters.fallback_used !== undefined) {
    counts.push(filters.fallback_used ? 'fallback_count' : 'total_count - fallback_count');
    if (filters.fallback_used) work.push('sum(fallback_count)');
  }
  const count =
    counts.length === 0 ? 'total_count' : counts.length === 1 ? counts[0] : `least(${counts})`;
  const match = group.length === 0 ? count : `case when ${group.join(' and ')} then ${count} end`;
  const where = [`bucket_start >= ${param(downTo, 'timestamptz')}`];
  if (upTo !== undefined) where.push(`bucket_start <= ${param(upTo, 'timestamptz')}`);
  const { rows } = await db.query<HourCount>(
    `select bucket_start, least(${work})::float8 as work,
            coalesce(sum(${match}), 0)::float8 as matches
       from public.ai_training_examples_${grain === 'hour' ? 'hourly' : 'daily'}
      where ${where.join(' and ')}
      group by bucket_start
      order by bucket_start desc`,
    params,
  );
  return rows;
}

/**
 * The newest telemetry row with this request id (or this row id), and how many rows share its
 * request id: a client may send the same request id more than once.
 */
export async function selectGeneration(
  db: Queryable,
  id: string,
): Promise<
  (Row & { id: string; request_id: string | null; rows_with_request_id: number }) | undefined
> {
  const { rows } = await db.query<
    Row & { id: string; request_id: string | null; rows_with_request_id: number }
  >(
    `select ${qualified('t', GENERATION_FIELDS)},
            t.prompt, t.input, t.output, t.error, t.metadata, t.schema_valid,
            t.patch_apply_success, t.edit_after_generate, t.publish_conversion, t.safety_compliant,
            (select count(*) from public.ai_training_examples s
              where s.request_id = t.request_id)::int as rows_with_request_id
       from public.ai_training_examples t
      where t.request_id = $1 or t.id = $1
      order by (t.id = $1) desc, t.created_at desc, t.id desc
      limit 1`,
    [id],
  );
  return rows[0];
}

export interface AttemptRow {
  attempt_no: number;
  provider: string;
  model: string | null;
  status: 'succeeded' | 'failed' | 'timeout' | 'aborted';
  error_class: string | null;
  http_status: number | null;
  latency_ms: number | null;
  ttfb_ms: number | null;
  retry_after_ms: number | null;
  error: unknown;
  created_at: Date;
}

/**
 * The provider attempts of one telemetry row, in order. Attempts written before they carried
 * their row's id are found by request id.
 */
export async function selectAttempts(
  db: Queryable,
  exampleId: string,
  requestId: string | null,
): Promise<AttemptRow[]> {
  const { rows } = await db.query<AttemptRow>(
    `select attempt_no, provider, model, status, error_class, http_status, latency_ms, ttfb_ms,
            retry_after_ms, error, created_at
       from public.ai_provider_attempts
      where training_example_id = $1
         or (training_example_id is null and request_id = $2::uuid)
      order by attempt_no, created_at, id`,
    [exampleId, requestId],
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Providers and environments
// ---------------------------------------------------------------------------------------------

export const PROVIDER_COLUMNS = `provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
  prompt_template_version, metadata, updated_at`;

export interface ProviderRow {
  provider: string;
  environment: string;
  enabled: boolean;
  is_default: boolean;
  weight: number;
  timeout_ms: number;
  max_retries: number;
  model: string | null;
  prompt_template_version: string;
  metadata: Record<string, unknown>;
  updated_at: Date;
}

export async function selectProviderConfigs(
  db: Queryable,
  environment: string,
): Promise<ProviderRow[]> {
  const { rows } = await db.query<ProviderRow>(
    `select ${PROVIDER_COLUMNS} from public.ai_provider_configs
      where environment = $1
      order by is_default desc, weight desc, provider`,
    [environment],
  );
  return rows;
}

/**
 * The provider configs of an environment, locked: an edit checks its rules against the other
 * rows, and a concurrent edit of one of them waits until this one is done.
 */
export async function lockProviderConfigs(
  db: Queryable,
  environment: string,
): Promise<ProviderRow[]> {
  const { rows } = await db.query<ProviderRow>(
    `select ${PROVIDER_COLUMNS} from public.ai_provider_configs
      where environment = $1
      order by provider
      for update`,
    [environment],
  );
  return rows;
}

export async function updateProviderConfig(
  db: Queryable,
  input: {
    environment: string;
    provider: string;
    weight: number;
    enabled: boolean;
    isDefault: boolean;
  },
): Promise<ProviderRow> {
  const { rows } = await db.query<ProviderRow>(
    `update public.ai_provider_configs
        set weight = $3, enabled = $4, is_default = $5
      where environment = $1 and provider = $2
      returning ${PROVIDER_COLUMNS}`,
    [input.environment, input.provider, input.weight, input.enabled, input.isDefault],
  );
  return rows[0]!;
}

export interface AttemptHealthRow {
  provider: string;
  attempts: number;
  errors: number;
  p95_latency_ms: number | null;
}

/** Each provider's attempts of the last hour: how many, how many failed, their p95 latency. */
export async function selectAttemptHealth(db: Queryable): Promise<AttemptHealthRow[]> {
  const { rows } = await db.query<AttemptHealthRow>(
    `select provider,
            count(*)::int as attempts,
            (count(*) filter (where status <> 'succeeded'))::int as errors,
            percentile_cont(0.95) within group (order by latency_ms) as p95_latency_ms
       from public.ai_provider_attempts
      where created_at >= now() - interval '1 hour'
      group by provider`,
  );
  return rows;
}

export async function selectEnvironments(db: Queryable): Promise<
  {
    environment: string;
    providers: number;
    enabled: number;
    default_provider: string | null;
  }[]
> {
  const { rows } = await db.query<{
    environment: string;
    providers: number;
    enabled: number;
    default_provider: string | null;
  }>(
    `select environment,
            count(*)::int as providers,
            (count(*) filter (where enabled))::int as enabled,
            min(provider) filter (where is_default) as default_provider
       from public.ai_provider_configs
      group by environment
      order by environment`,
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Evals
// ---------------------------------------------------------------------------------------------

const SUMMARY_FIELDS = [
  'run_id',
  'run_type',
  'schema_variant',
  'status',
  'triggered_by',
  'started_at',
  'finished_at',
  'sample_count',
  'schema_valid_rate',
  'patch_apply_success',
  'edit_after_generate_rate',
  'publish_conversion_proxy',
  'safety_html_tailwind_compliance',
  'fallback_rate',
  'p95_latency_ms',
];
const SUMMARY_COLUMNS = SUMMARY_FIELDS.join(', ');

/**
 * Eval run summaries, newest first, before run `before`. The page's runs are picked from the
 * runs table first: the view aggregates every sample of the runs it reads, and a filter on its
 * grouping key (the run id) is the one the planner pushes into it, so only the page's samples
 * are read.
 */
export async function selectEvalRuns(
  db: Queryable,
  { before, limit }: { before: number | undefined; limit: number },
): Promise<(Row & { run_id: number })[]> {
  const { rows } = await db.query<Row & { run_id: number }>(
    `select ${SUMMARY_COLUMNS} from public.ai_eval_run_summary_v1
      where run_id = any(array(
              select id from public.ai_eval_runs
               where $1::bigint is null or id < $1
               order by id desc
               limit $2))
      order by run_id desc`,
    [before ?? null, limit],
  );
  return rows;
}

/** The latest eval run's summary (the grouping key pushes the filter into the view). */
export async function selectLatestEvalRun(
  db: Queryable,
): Promise<(Row & { run_id: number }) | undefined> {
  const { rows } = await db.query<Row & { run_id: number }>(
    `select ${SUMMARY_COLUMNS} from public.ai_eval_run_summary_v1
      where run_id = (select max(id) from public.ai_eval_runs)`,
  );
  return rows[0];
}

export async function selectEvalRun(
  db: Queryable,
  runId: number,
): Promise<(Row & { run_id: number }) | undefined> {
  const { rows } = await db.query<Row & { run_id: number }>(
    `select ${qualified('s', SUMMARY_FIELDS)},
            r.git_sha, r.trigger_ref, r.thresholds, r.metadata, r.report
       from public.ai_eval_run_summary_v1 s
       join public.ai_eval_runs r on r.id = s.run_id
      where s.run_id = $1`,
    [runId],
  );
  return rows[0];
}

export interface FailedGateRow {
  run_id: number;
  gate: string;
  metric: string;
  threshold: number | null;
  value: number | null;
}

export async function selectFailedGates(
  db: Queryable,
  runIds: readonly number[],
): Promise<FailedGateRow[]> {
  if (runIds.length === 0) return [];
  const { rows } = await db.query<FailedGateRow>(
    `select run_id, gate, metric, threshold, value
       from public.ai_eval_failed_gates_v1
      where run_id = any($1::bigint[])
      order by run_id, gate`,
    [runIds],
  );
  return rows;
}

/**
 * The latest `runs` finished or running runs (aborted ones carry no verdict), oldest first;
 * picked from the runs table first, as in {@link selectEvalRuns}.
 */
export async function selectEvalTrend(
  db: Queryable,
  { runs, schemaVariant }: { runs: number; schemaVariant: string | undefined },
): Promise<Row[]> {
  const { rows } = await db.query(
    `select ${SUMMARY_COLUMNS} from public.ai_eval_run_summary_v1
      where run_id = any(array(
              select id from public.ai_eval_runs
               where status <> 'aborted' and ($2::text is null or schema_variant = $2)
               order by id desc
               limit $1))
      order by run_id`,
    [runs, schemaVariant ?? null],
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Rollout log
// ---------------------------------------------------------------------------------------------

export async function selectRolloutLog(
  db: Queryable,
  {
    environment,
    before,
    limit,
  }: { environment: string | undefined; before: number | undefined; limit: number },
): Promise<(Row & { id: number })[]> {
  const { rows } = await db.query<Row & { id: number }>(
    `select id, environment, action, operator, status, started_at, finished_at, verification,
            rollback_test_result, saved_state, notes, created_at
       from public.ai_rollout_log
      where ($1::text is null or environment = $1)
        and ($2::bigint is null or id < $2)
      order by id desc
      limit $3`,
    [environment ?? null, before ?? null, limit],
  );
  return rows;
}
