/**
 * What one canary check decides, from what it measured: a pure function, so every rule of the
 * rollout policy is tested without a database or a clock.
 */

/** The first tries routed to one side (the candidate, or the baseline providers) in the window. */
export interface WindowStats {
  /** First tries: rows whose planned provider is on this side. */
  samples: number;
  /** The eval metrics' definitions (rate of true among observed, p95 percentile_cont). */
  fallbackRate: number | null;
  p95LatencyMs: number | null;
  schemaValidRate: number | null;
  /** Rows where schema validity was observed (not null). */
  schemaValidSamples: number;
  safetyRate: number | null;
  safetySamples: number;
}

export interface Thresholds {
  minSamples: number;
  maxFailedChecks: number;
  maxFallbackRate: number;
  maxP95Ms: number | null;
  minSchemaValid: number;
}

export interface DecisionInput {
  thresholds: Thresholds;
  steps: readonly number[];
  /** Index into `steps` of the weight the candidate has now. */
  stepIndex: number;
  /** Failed checks so far in this canary. */
  failedChecks: number;
  /** Inconclusive checks in a row just before this one. */
  inconclusiveChecks: number;
  candidate: WindowStats;
  baseline: WindowStats;
}

export type GuardrailName =
  | 'fallback_rate'
  | 'p95_latency_ms'
  | 'schema_valid_rate'
  | 'schema_valid_vs_baseline'
  | 'safety';

/** One guardrail of a check: the candidate's value against its limit. */
export interface GuardrailCheck {
  name: GuardrailName;
  value: number | null;
  /** `max`: the value may not exceed the limit; `min`: it may not fall below it. */
  kind: 'max' | 'min';
  limit: number | null;
  /** Null when it could not be judged (nothing observed, or no limit set). */
  ok: boolean | null;
  /** A breach rolls back at once instead of counting as a failed check. */
  immediate: boolean;
}

export type CanaryVerdict = 'passed' | 'failed' | 'inconclusive';
export type CanaryAction = 'hold' | 'step' | 'promote' | 'rollback' | 'halt';

export interface CanaryDecision {
  verdict: CanaryVerdict;
  action: CanaryAction;
  /** One sentence for the operator: what was seen and what happens now. */
  reason: string;
  guardrails: GuardrailCheck[];
  failedChecks: number;
  inconclusiveChecks: number;
  /** The step after this decision (the next one when stepping, else unchanged). */
  stepIndex: number;
}

/** The rollout policy's floor for safety compliance: below it is a regression whatever the baseline. */
export const SAFETY_FLOOR = 0.995;

/** How far the candidate's schema-valid rate may trail the baseline's before an immediate rollback. */
export const SCHEMA_VALID_MAX_DROP = 0.01;

/**
 * The decision of one check:
 * 1. an immediate trigger — schema-valid more than 1 point below the baseline's, or a safety
 *    regression (below the baseline's compliance, or below 0.995) — rolls back at once, on however
 *    few samples: too few samples are a reason not to step forward, never a reason to stay;
 * 2. fewer first tries than `minSamples`: inconclusive, the step holds; `maxFailedChecks + 1`
 *    of them in a row halt the canary;
 * 3. a guardrail breached (fallback rate, p95 latency when a limit is set, schema-valid rate): a
 *    failed check, the step holds; more than `maxFailedChecks` failed checks roll back;
 * 4. otherwise the next step, or the promotion after the last one.
 */
export function decide(input: DecisionInput): CanaryDecision {
  const { thresholds, steps, stepIndex, candidate, baseline } = input;
  const guardrails = evaluateGuardrails(thresholds, candidate, baseline);
  const weight = steps[stepIndex]!;
  const immediate = guardrails.filter((check) => check.immediate && check.ok === false);
  const failedChecks = input.failedChecks + 1;

  if (immediate.length > 0) {
    return {
      verdict: 'failed',
      action: 'rollback',
      reason: `rolled back at once: ${immediate.map(describeBreach).join('; ')}`,
      guardrails,
      failedChecks,
      inconclusiveChecks: 0,
      stepIndex,
    };
  }

  if (candidate.samples < thresholds.minSamples) {
    const inconclusiveChecks = input.inconclusiveChecks + 1;
    const seen = `${candidate.samples} first ${plural(candidate.samples, 'try', 'tries')} to the candidate since the step began, fewer than the ${thresholds.minSamples} needed`;
    if (inconclusiveChecks > thresholds.maxFailedChecks) {
      return {
        verdict: 'inconclusive',
        action: 'halt',
        reason: `halted: ${inconclusiveChecks} checks in a row without enough traffic (${seen}); weights stay at ${weight}% until canary promote or canary abort`,
        guardrails,
        failedChecks: input.failedChecks,
        inconclusiveChecks,
        stepIndex,
      };
    }
    return {
      verdict: 'inconclusive',
      action: 'hold',
      reason: `inconclusive: ${seen}; holding at ${weight}% (${inconclusiveChecks} of ${thresholds.maxFailedChecks + 1} before halting)`,
      guardrails,
      failedChecks: input.failedChecks,
      inconclusiveChecks,
      stepIndex,
    };
  }

  const breached = guardrails.filter((check) => check.ok === false);
  if (breached.length > 0) {
    const breaches = breached.map(describeBreach).join('; ');
    if (failedChecks > thresholds.maxFailedChecks) {
      return {
        verdict: 'failed',
        action: 'rollback',
        reason: `rolled back: ${failedChecks} failed checks, more than the ${thresholds.maxFailedChecks} allowed (${breaches})`,
        guardrails,
        failedChecks,
        inconclusiveChecks: 0,
        stepIndex,
      };
    }
    return {
      verdict: 'failed',
      action: 'hold',
      reason: `failed check ${failedChecks} of ${thresholds.maxFailedChecks} allowed: ${breaches}; holding at ${weight}%`,
      guardrails,
      failedChecks,
      inconclusiveChecks: 0,
      stepIndex,
    };
  }

  const passed = `${candidate.samples} first tries, every guardrail held`;
  if (stepIndex === steps.length - 1) {
    return {
      verdict: 'passed',
      action: 'promote',
      reason: `promoted: ${passed} at ${weight}%, the last step`,
      guardrails,
      failedChecks: input.failedChecks,
      inconclusiveChecks: 0,
      stepIndex,
    };
  }
  return {
    verdict: 'passed',
    action: 'step',
    reason: `passed: ${passed}; ${weight}% → ${steps[stepIndex + 1]}%`,
    guardrails,
    failedChecks: input.failedChecks,
    inconclusiveChecks: 0,
    stepIndex: stepIndex + 1,
  };
}

/** Every guardrail of the policy against the candidate's window (and the baseline's, for the relative ones). */
export function evaluateGuardrails(
  thresholds: Thresholds,
  candidate: WindowStats,
  baseline: WindowStats,
): GuardrailCheck[] {
  const max = (value: number | null, limit: number | null) =>
    value === null || limit === null ? null : micro(value) <= micro(limit);
  const min = (value: number | null, limit: number | null) =>
    value === null || limit === null ? null : micro(value) >= micro(limit);
  const schemaFloor =
    baseline.schemaValidRate === null
      ? null
      : Math.max(0, micro(baseline.schemaValidRate) - micro(SCHEMA_VALID_MAX_DROP)) / 1e6;
  const safetyFloor =
    baseline.safetyRate === null ? SAFETY_FLOOR : Math.max(baseline.safetyRate, SAFETY_FLOOR);
  return [
    {
      name: 'fallback_rate',
      value: candidate.fallbackRate,
      kind: 'max',
      limit: thresholds.maxFallbackRate,
      ok: max(candidate.fallbackRate, thresholds.maxFallbackRate),
      immediate: false,
    },
    {
      name: 'p95_latency_ms',
      value: candidate.p95LatencyMs,
      kind: 'max',
      limit: thresholds.maxP95Ms,
      ok: max(candidate.p95LatencyMs, thresholds.maxP95Ms),
      immediate: false,
    },
    {
      name: 'schema_valid_rate',
      value: candidate.schemaValidRate,
      kind: 'min',
      limit: thresholds.minSchemaValid,
      ok: min(candidate.schemaValidRate, thresholds.minSchemaValid),
      immediate: false,
    },
    {
      name: 'schema_valid_vs_baseline',
      value: candidate.schemaValidRate,
      kind: 'min',
      limit: schemaFloor,
      ok: min(candidate.schemaValidRate, schemaFloor),
      immediate: true,
    },
    {
      name: 'safety',
      value: candidate.safetyRate,
      kind: 'min',
      limit: safetyFloor,
      ok: min(candidate.safetyRate, safetyFloor),
      immediate: true,
    },
  ];
}

const LABELS: Record<GuardrailName, string> = {
  fallback_rate: 'fallback rate',
  p95_latency_ms: 'p95 latency',
  schema_valid_rate: 'schema-valid rate',
  schema_valid_vs_baseline: 'schema-valid rate',
  safety: 'safety compliance',
};

/** `fallback rate 1.000 > 0.050`, `schema-valid rate 0.850 < 0.980 (baseline 0.990 − 1 point)`. */
export function describeBreach(check: GuardrailCheck): string {
  const value = formatValue(check.name, check.value);
  const limit = formatValue(check.name, check.limit);
  const sign = check.kind === 'max' ? '>' : '<';
  const why =
    check.name === 'schema_valid_vs_baseline'
      ? ' (more than 1 point below the baseline)'
      : check.name === 'safety'
        ? ' (below the baseline or the 0.995 floor)'
        : '';
  return `${LABELS[check.name]} ${value} ${sign} ${limit}${why}`;
}

/** Rates with three decimals, latencies in whole milliseconds. */
export function formatValue(name: GuardrailName, value: number | null): string {
  if (value === null) return '-';
  return name === 'p95_latency_ms' ? `${Math.round(value)} ms` : value.toFixed(3);
}

/** Rates are stored with 6 decimals: compare them as whole millionths, free of float noise. */
function micro(value: number): number {
  return Math.round(value * 1e6);
}

function plural(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}
