import type { Queryable } from '../../db/types.ts';
import { writeLogEntry } from '../log.ts';
import type { ProviderConfigState } from '../provider-state.ts';
import type { CanaryAction, CanaryVerdict, GuardrailCheck, WindowStats } from './decide.ts';
import type { CanaryRun, CanaryState, Measurement } from './sql.ts';
import { firstTryShare } from './weights.ts';

/** The rollout log actions of a canary, one per kind of decision. */
export type CanaryLogAction =
  | 'canary_start'
  | 'canary_step'
  | 'canary_check'
  | 'canary_halt'
  | 'canary_rollback'
  | 'canary_abort'
  | 'canary_complete';

/** The operator name of the decisions the controller takes by itself. */
export const CONTROLLER_OPERATOR = 'canary';

/** What a check measured and concluded, as logged and posted with its decision. */
export interface CheckRecord {
  verdict: CanaryVerdict;
  decision: CanaryAction;
  window_start: string;
  window_end: string;
  candidate: WindowStats;
  baseline: WindowStats;
  guardrails: GuardrailCheck[];
  failed_checks: number;
  inconclusive_checks: number;
}

/**
 * One decision of a canary: what `ai_rollout_log.verification.canary` holds, what `--notify`
 * receives (with `log_id`), and what the dry run prints.
 */
export interface CanaryEvent {
  event: CanaryLogAction;
  run_id: number;
  log_id: number;
  environment: string;
  provider: string;
  state: CanaryState;
  /** 1-based position in `steps` of the weight the candidate has after this decision. */
  step: number;
  steps: number[];
  /** The candidate's share of first tries (percent) after this decision. */
  weight: number;
  reason: string;
  operator: string;
  at: string;
  check?: CheckRecord;
}

/**
 * The candidate's share of first tries (percent) a run gives it: its step's weight while it owns
 * the environment, all of it once promoted, and what the saved rows gave it once they are back.
 */
export function weightOf(run: CanaryRun): number {
  if (run.state === 'progressing' || run.state === 'halted') return run.steps[run.stepIndex]!;
  if (run.state === 'promoted') return 100;
  return Math.round(firstTryShare(run.baseline, run.provider) * 100);
}

/** The check record of a decision, from its measurement. */
export function checkRecord(
  measurement: Measurement,
  decision: {
    verdict: CanaryVerdict;
    action: CanaryAction;
    guardrails: GuardrailCheck[];
    failedChecks: number;
    inconclusiveChecks: number;
  },
): CheckRecord {
  return {
    verdict: decision.verdict,
    decision: decision.action,
    window_start: measurement.windowStart.toISOString(),
    window_end: measurement.windowEnd.toISOString(),
    candidate: measurement.candidate,
    baseline: measurement.baseline,
    guardrails: decision.guardrails,
    failed_checks: decision.failedChecks,
    inconclusive_checks: decision.inconclusiveChecks,
  };
}

/**
 * Writes a decision's `ai_rollout_log` entry in the transaction that made it, and returns the
 * event for the notifier. `replaced` (a rollback, an abort, the start) are the rows the decision
 * overwrote, kept in the entry as every rollback keeps them.
 */
export async function logDecision(
  tx: Queryable,
  input: {
    action: CanaryLogAction;
    run: CanaryRun;
    reason: string;
    operator: string;
    startedAt: Date;
    check?: CheckRecord;
    replaced?: ProviderConfigState[];
  },
): Promise<CanaryEvent> {
  const { run } = input;
  const at = new Date();
  const body = {
    event: input.action,
    run_id: run.id,
    environment: run.environment,
    provider: run.provider,
    state: run.state,
    step: run.stepIndex + 1,
    steps: run.steps,
    weight: weightOf(run),
    reason: input.reason,
    operator: input.operator,
    at: at.toISOString(),
    ...(input.check ? { check: input.check } : {}),
  };
  const failed = input.check?.verdict === 'failed' && input.action === 'canary_check';
  const logId = await writeLogEntry(tx, {
    environment: run.environment,
    action: input.action,
    operator: input.operator,
    status: failed
      ? 'failed'
      : input.action === 'canary_check' || input.action === 'canary_halt'
        ? 'info'
        : 'ok',
    startedAt: input.startedAt,
    finishedAt: at,
    verification: { canary: body },
    ...(input.replaced
      ? { savedState: { environments: [run.environment], rows: input.replaced } }
      : {}),
    notes: input.reason,
  });
  return { ...body, log_id: logId };
}

/**
 * One line for `genloop rollout log`: the canary, where it stands after the decision, and what
 * the check measured on each side; undefined for entries that are not a canary's.
 */
export function summariseCanaryEntry(verification: unknown): string | undefined {
  const canary = (verification as { canary?: Partial<CanaryEvent> } | null)?.canary;
  if (!canary || typeof canary !== 'object' || canary.run_id === undefined) return undefined;
  const parts = [
    `#${canary.run_id} ${canary.provider} ${canary.state} at ${canary.weight}% (step ${canary.step}/${canary.steps?.length ?? '?'})`,
  ];
  const { check } = canary;
  if (check) {
    parts.push(`${canary.provider}: ${describeSide(check.candidate)}`);
    parts.push(`baseline: ${describeSide(check.baseline)}`);
  }
  return parts.join('; ');
}

function describeSide(stats: WindowStats): string {
  const rate = (value: number | null) => (value === null ? '-' : value.toFixed(3));
  return `${stats.samples} tries, fallback ${rate(stats.fallbackRate)}, p95 ${stats.p95LatencyMs === null ? '-' : `${Math.round(stats.p95LatencyMs)} ms`}, schema-valid ${rate(stats.schemaValidRate)}`;
}
