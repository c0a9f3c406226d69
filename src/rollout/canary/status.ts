import type { Queryable } from '../../db/types.ts';
import type { CanaryAction, CanaryVerdict, GuardrailCheck, WindowStats } from './decide.ts';
import { weightOf } from './events.ts';
import { formatInterval } from './settings.ts';
import { type CanaryState, selectChecks, selectLatestRun, selectRun } from './sql.ts';

/** One check as `canary status` shows it. */
export interface CanaryStatusCheck {
  /** 1-based, in the order the checks were made. */
  n: number;
  checked_at: string;
  window_start: string;
  /** 1-based step the check was made at, and the candidate's weight then. */
  step: number;
  weight: number;
  verdict: CanaryVerdict;
  decision: CanaryAction;
  candidate: WindowStats;
  baseline: WindowStats;
  guardrails: GuardrailCheck[];
  reason: string;
  log_id: number | null;
}

/** `genloop canary status --json`: a canary's state, where it is, and each check so far. */
export interface CanaryStatus {
  id: number;
  environment: string;
  state: CanaryState;
  provider: string;
  /** The candidate's share of first tries now (percent). */
  weight: number;
  /** 1-based position in `steps`. */
  step: number;
  steps: number[];
  interval: string;
  thresholds: {
    min_samples: number;
    max_failed_checks: number;
    max_fallback_rate: number;
    max_p95_ms: number | null;
    min_schema_valid: number;
  };
  failed_checks: number;
  inconclusive_checks: number;
  /** Why it is where it is, once it stopped progressing. */
  reason: string | null;
  operator: string;
  started_at: string;
  step_started_at: string;
  /** When the controller checks next; null once the canary stopped progressing. */
  next_check_at: string | null;
  finished_at: string | null;
  notify_url: string | null;
  checks: CanaryStatusCheck[];
}

/** The status of the environment's latest canary (or of run `id`); undefined when none ran. */
export async function readCanaryStatus(
  db: Queryable,
  environment: string,
  options: { id?: number } = {},
): Promise<CanaryStatus | undefined> {
  const run =
    options.id === undefined
      ? await selectLatestRun(db, environment)
      : await selectRun(db, options.id);
  if (!run) return undefined;
  const checks = await selectChecks(db, run.id);
  const { settings } = run;
  return {
    id: run.id,
    environment: run.environment,
    state: run.state,
    provider: run.provider,
    weight: weightOf(run),
    step: run.stepIndex + 1,
    steps: run.steps,
    interval: formatInterval(settings.intervalMs),
    thresholds: {
      min_samples: settings.minSamples,
      max_failed_checks: settings.maxFailedChecks,
      max_fallback_rate: settings.maxFallbackRate,
      max_p95_ms: settings.maxP95Ms,
      min_schema_valid: settings.minSchemaValid,
    },
    failed_checks: run.failedChecks,
    inconclusive_checks: run.inconclusiveChecks,
    reason: run.reason,
    operator: run.operator,
    started_at: run.startedAt.toISOString(),
    step_started_at: run.stepStartedAt.toISOString(),
    next_check_at: run.state === 'progressing' ? run.nextCheckAt.toISOString() : null,
    finished_at: run.finishedAt?.toISOString() ?? null,
    notify_url: run.notifyUrl,
    checks: checks.map((check, index) => ({
      n: index + 1,
      checked_at: check.checkedAt.toISOString(),
      window_start: check.windowStart.toISOString(),
      step: check.stepIndex + 1,
      weight: check.weight,
      verdict: check.verdict,
      decision: check.decision,
      candidate: check.candidate,
      baseline: check.baseline,
      guardrails: check.guardrails,
      reason: check.reason,
      log_id: check.logId,
    })),
  };
}
