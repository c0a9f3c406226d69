import type { Queryable } from '../../db/types.ts';
import { p95Sql, rateSql } from '../../eval/metric-sql.ts';
import type { ProviderConfigState } from '../provider-state.ts';
import type {
  CanaryAction,
  CanaryVerdict,
  GuardrailCheck,
  Thresholds,
  WindowStats,
} from './decide.ts';
import type { CanarySettings } from './settings.ts';
import type { RoutingChange } from './weights.ts';

/** The states of a canary, as `canary status` shows them. */
export const CANARY_STATES = [
  'progressing',
  'promoted',
  'rolled_back',
  'halted',
  'aborted',
] as const;
export type CanaryState = (typeof CANARY_STATES)[number];

/** One `ai_canary_runs` row. */
export interface CanaryRun {
  id: number;
  environment: string;
  provider: string;
  state: CanaryState;
  steps: number[];
  /** Index into `steps` of the candidate's weight now. */
  stepIndex: number;
  settings: CanarySettings;
  /** The environment's rows before the canary, put back by a rollback or an abort. */
  baseline: ProviderConfigState[];
  operator: string;
  startedAt: Date;
  finishedAt: Date | null;
  stepStartedAt: Date;
  nextCheckAt: Date;
  failedChecks: number;
  inconclusiveChecks: number;
  notifyUrl: string | null;
  notifySecret: string | null;
  reason: string | null;
}

interface RunRow {
  id: number;
  environment: string;
  candidate_provider: string;
  status: CanaryState;
  steps: number[];
  current_step: number;
  baseline: ProviderConfigState[];
  operator: string;
  started_at: Date;
  finished_at: Date | null;
  interval_ms: number;
  min_samples: number;
  max_failed_checks: number;
  max_fallback_rate: number;
  max_p95_ms: number | null;
  min_schema_valid: number;
  step_started_at: Date;
  next_check_at: Date;
  failed_checks: number;
  inconclusive_checks: number;
  notify_url: string | null;
  notify_secret: string | null;
  reason: string | null;
}

const RUN_COLUMNS = `id, environment, candidate_provider, status, steps, current_step, baseline, operator,
  started_at, finished_at, interval_ms, min_samples, max_failed_checks, max_fallback_rate,
  max_p95_ms, min_schema_valid, step_started_at, next_check_at, failed_checks,
  inconclusive_checks, notify_url, notify_secret, reason`;

function toRun(row: RunRow): CanaryRun {
  return {
    id: row.id,
    environment: row.environment,
    provider: row.candidate_provider,
    state: row.status,
    steps: row.steps.map(Number),
    stepIndex: row.current_step,
    settings: {
      steps: row.steps.map(Number),
      intervalMs: row.interval_ms,
      maxFallbackRate: Number(row.max_fallback_rate),
      maxP95Ms: row.max_p95_ms,
      minSchemaValid: Number(row.min_schema_valid),
      minSamples: row.min_samples,
      maxFailedChecks: row.max_failed_checks,
    },
    baseline: row.baseline,
    operator: row.operator,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    stepStartedAt: row.step_started_at,
    nextCheckAt: row.next_check_at,
    failedChecks: row.failed_checks,
    inconclusiveChecks: row.inconclusive_checks,
    notifyUrl: row.notify_url,
    notifySecret: row.notify_secret,
    reason: row.reason,
  };
}

/** The thresholds of a run, as the decision takes them. */
export function thresholdsOf(run: CanaryRun): Thresholds {
  const { minSamples, maxFailedChecks, maxFallbackRate, maxP95Ms, minSchemaValid } = run.settings;
  return { minSamples, maxFailedChecks, maxFallbackRate, maxP95Ms, minSchemaValid };
}

/** A run by id; `forUpdate` locks it for the rest of the transaction. */
export async function selectRun(
  tx: Queryable,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<CanaryRun | undefined> {
  const { rows } = await tx.query<RunRow>(
    `select ${RUN_COLUMNS} from public.ai_canary_runs where id = $1 ${options.forUpdate ? 'for update' : ''}`,
    [id],
  );
  return rows[0] && toRun(rows[0]);
}

/** The environment's canary that owns its weights (progressing or halted), if any. */
export async function selectActiveRun(
  tx: Queryable,
  environment: string,
  options: { forUpdate?: boolean } = {},
): Promise<CanaryRun | undefined> {
  const { rows } = await tx.query<RunRow>(
    `select ${RUN_COLUMNS} from public.ai_canary_runs
      where environment = $1 and status in ('progressing', 'halted')
      ${options.forUpdate ? 'for update' : ''}`,
    [environment],
  );
  return rows[0] && toRun(rows[0]);
}

/** The environment's latest canary, whatever its state. */
export async function selectLatestRun(
  db: Queryable,
  environment: string,
): Promise<CanaryRun | undefined> {
  const { rows } = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from public.ai_canary_runs
      where environment = $1 order by id desc limit 1`,
    [environment],
  );
  return rows[0] && toRun(rows[0]);
}

/** A progressing run whose next check is due, with the step it was at when read. */
export interface DueRun {
  id: number;
  stepIndex: number;
  stepStartedAt: Date;
}

/** Progressing runs whose next check is due by the database's clock, oldest first. */
export async function selectDueRuns(db: Queryable): Promise<DueRun[]> {
  const { rows } = await db.query<{ id: number; current_step: number; step_started_at: Date }>(
    `select id, current_step, step_started_at from public.ai_canary_runs
      where status = 'progressing' and next_check_at <= now()
      order by id`,
  );
  return rows.map((row) => ({
    id: row.id,
    stepIndex: row.current_step,
    stepStartedAt: row.step_started_at,
  }));
}

/** True when the run's next check is due now, by the database's clock. */
export async function isDue(tx: Queryable, id: number): Promise<boolean> {
  const { rows } = await tx.query<{ due: boolean }>(
    'select next_check_at <= now() as due from public.ai_canary_runs where id = $1',
    [id],
  );
  return rows[0]?.due === true;
}

/** Inserts a progressing run at its first step; the unique index refuses a second one. */
export async function insertRun(
  tx: Queryable,
  run: {
    environment: string;
    provider: string;
    settings: CanarySettings;
    baseline: ProviderConfigState[];
    operator: string;
    notifyUrl: string | null;
    notifySecret: string | null;
  },
): Promise<CanaryRun> {
  const { settings } = run;
  const { rows } = await tx.query<RunRow>(
    `insert into public.ai_canary_runs
       (environment, candidate_provider, status, steps, current_step, baseline, operator,
        interval_ms, min_samples, max_failed_checks, max_fallback_rate, max_p95_ms,
        min_schema_valid, step_started_at, next_check_at, notify_url, notify_secret)
     values ($1, $2, 'progressing', $3::integer[], 0, $4::jsonb, $5, $6::integer, $7, $8, $9,
             $10, $11, now(), now() + make_interval(secs => $6::integer / 1000.0), $12, $13)
     returning ${RUN_COLUMNS}`,
    [
      run.environment,
      run.provider,
      settings.steps,
      JSON.stringify(run.baseline),
      run.operator,
      settings.intervalMs,
      settings.minSamples,
      settings.maxFailedChecks,
      settings.maxFallbackRate,
      settings.maxP95Ms,
      settings.minSchemaValid,
      run.notifyUrl,
      run.notifySecret,
    ],
  );
  return toRun(rows[0]!);
}

/** What a decision writes back to its run. */
export interface RunUpdate {
  state: CanaryState;
  stepIndex: number;
  /** The window restarts: a new step began. */
  newStep: boolean;
  failedChecks: number;
  inconclusiveChecks: number;
  reason: string | null;
}

/**
 * Writes a decision to its run: a progressing run's next check is one interval from now (and
 * a new step's window starts now); any other state is final until an operator acts, and a
 * promoted, rolled back or aborted run is finished.
 */
export async function updateRun(tx: Queryable, id: number, update: RunUpdate): Promise<CanaryRun> {
  const { rows } = await tx.query<RunRow>(
    `update public.ai_canary_runs
        set status = $2,
            current_step = $3,
            step_started_at = case when $4::boolean then now() else step_started_at end,
            next_check_at = now() + make_interval(secs => interval_ms::double precision / 1000),
            failed_checks = $5,
            inconclusive_checks = $6,
            reason = $7,
            finished_at = case when $2 in ('progressing', 'halted') then null else now() end
      where id = $1
      returning ${RUN_COLUMNS}`,
    [
      id,
      update.state,
      update.stepIndex,
      update.newStep,
      update.failedChecks,
      update.inconclusiveChecks,
      update.reason,
    ],
  );
  return toRun(rows[0]!);
}

/** One stored check of a run. */
export interface CanaryCheck {
  id: number;
  runId: number;
  stepIndex: number;
  weight: number;
  windowStart: Date;
  checkedAt: Date;
  verdict: CanaryVerdict;
  decision: CanaryAction;
  candidate: WindowStats;
  baseline: WindowStats;
  guardrails: GuardrailCheck[];
  reason: string;
  logId: number | null;
}

/** Records a check with what it measured and decided. */
export async function insertCheck(
  tx: Queryable,
  check: Omit<CanaryCheck, 'id' | 'checkedAt'> & { checkedAt?: Date },
): Promise<void> {
  await tx.query(
    `insert into public.ai_canary_checks
       (run_id, step_index, weight, window_start, checked_at, verdict, decision, candidate,
        baseline, guardrails, reason, log_id)
     values ($1, $2, $3, $4, coalesce($5::timestamptz, now()), $6, $7, $8::jsonb, $9::jsonb,
             $10::jsonb, $11, $12)`,
    [
      check.runId,
      check.stepIndex,
      check.weight,
      check.windowStart,
      check.checkedAt ?? null,
      check.verdict,
      check.decision,
      JSON.stringify(check.candidate),
      JSON.stringify(check.baseline),
      JSON.stringify(check.guardrails),
      check.reason,
      check.logId,
    ],
  );
}

/** The checks of a run in the order they were made. */
export async function selectChecks(db: Queryable, runId: number): Promise<CanaryCheck[]> {
  const { rows } = await db.query<{
    id: number;
    run_id: number;
    step_index: number;
    weight: number;
    window_start: Date;
    checked_at: Date;
    verdict: CanaryVerdict;
    decision: CanaryAction;
    candidate: WindowStats;
    baseline: WindowStats;
    guardrails: GuardrailCheck[];
    reason: string;
    log_id: number | null;
  }>(
    `select id, run_id, step_index, weight, window_start, checked_at, verdict, decision,
            candidate, baseline, guardrails, reason, log_id
       from public.ai_canary_checks where run_id = $1 order by id`,
    [runId],
  );
  return rows.map((row) => ({
    id: row.id,
    runId: row.run_id,
    stepIndex: row.step_index,
    weight: row.weight,
    windowStart: row.window_start,
    checkedAt: row.checked_at,
    verdict: row.verdict,
    decision: row.decision,
    candidate: row.candidate,
    baseline: row.baseline,
    guardrails: row.guardrails,
    reason: row.reason,
    logId: row.log_id,
  }));
}

/** The window a check measured, and the first tries of each side in it. */
export interface Measurement {
  windowStart: Date;
  windowEnd: Date;
  candidate: WindowStats;
  baseline: WindowStats;
}

interface StatsRow {
  is_candidate: boolean;
  samples: number;
  fallback_rate: number | null;
  p95_latency_ms: number | null;
  schema_valid_rate: number | null;
  schema_valid_samples: number;
  safety_rate: number | null;
  safety_samples: number;
}

// The eval metrics' own expressions, over first tries: rows whose planned provider is the
// candidate, or one of the other providers of the environment (the baseline). The provider list
// and the time range let the partial index on (environment, planned_provider, created_at) serve
// each provider as one range, reading no other rows.
const MEASURE = `
  select planned_provider = $2 as is_candidate,
         count(*)::integer as samples,
         ${rateSql('fallback_used')} as fallback_rate,
         ${p95Sql('latency_ms')} as p95_latency_ms,
         ${rateSql('schema_valid')} as schema_valid_rate,
         count(schema_valid)::integer as schema_valid_samples,
         ${rateSql('safety_compliant')} as safety_rate,
         count(safety_compliant)::integer as safety_samples
    from public.ai_training_examples
   where environment = $1
     and planned_provider is not null
     and planned_provider = any($3::text[])
     and created_at >= $4
     and created_at < $5
   group by 1`;

/**
 * Measures the first tries of the candidate and of the baseline providers of `environment` in
 * `[from, now)` (now by the database's clock), with the eval metrics' definitions.
 */
export async function measureWindow(
  tx: Queryable,
  input: { environment: string; candidate: string; providers: readonly string[]; from: Date },
): Promise<Measurement> {
  const { rows: clock } = await tx.query<{ now: Date }>('select now() as now');
  const windowEnd = clock[0]!.now;
  const providers = [...new Set([...input.providers, input.candidate])];
  const { rows } = await tx.query<StatsRow>(MEASURE, [
    input.environment,
    input.candidate,
    providers,
    input.from,
    windowEnd,
  ]);
  const side = (isCandidate: boolean): WindowStats => {
    const row = rows.find((entry) => entry.is_candidate === isCandidate);
    return {
      samples: row?.samples ?? 0,
      fallbackRate: numberOrNull(row?.fallback_rate),
      p95LatencyMs: numberOrNull(row?.p95_latency_ms),
      schemaValidRate: numberOrNull(row?.schema_valid_rate),
      schemaValidSamples: row?.schema_valid_samples ?? 0,
      safetyRate: numberOrNull(row?.safety_rate),
      safetySamples: row?.safety_samples ?? 0,
    };
  };
  return { windowStart: input.from, windowEnd, candidate: side(true), baseline: side(false) };
}

function numberOrNull(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * Sets the routing columns of some rows of one environment in one statement; the rest of each
 * row (timeouts, retries, model, template version, other metadata keys) keeps its value. The
 * one-default rule is checked once the statement has run, so a default can move in it.
 */
export async function applyRoutingChanges(
  tx: Queryable,
  environment: string,
  changes: readonly RoutingChange[],
): Promise<void> {
  await tx.query(
    `update public.ai_provider_configs c
        set enabled = s.enabled,
            is_default = s.is_default,
            weight = s.weight,
            metadata = case
              when s.strategy_op = 'set'
                then jsonb_set(coalesce(c.metadata, '{}'::jsonb), '{route_strategy}', to_jsonb(s.strategy))
              when s.strategy_op = 'remove' then coalesce(c.metadata, '{}'::jsonb) - 'route_strategy'
              else c.metadata
            end
       from jsonb_to_recordset($2::jsonb) as s(
         provider text, enabled boolean, is_default boolean, weight integer, strategy_op text,
         strategy text)
      where c.environment = $1 and c.provider = s.provider`,
    [
      environment,
      JSON.stringify(
        changes.map((change) => ({
          provider: change.provider,
          enabled: change.enabled,
          is_default: change.isDefault,
          weight: change.weight,
          strategy_op:
            change.strategy === undefined ? 'keep' : change.strategy === null ? 'remove' : 'set',
          strategy: change.strategy ?? null,
        })),
      ),
    ],
  );
}
