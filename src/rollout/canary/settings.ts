import { OperatorError } from '../../lib/errors.ts';

/** What a canary is asked to do: its steps, how often it checks, and its guardrails. */
export interface CanarySettings {
  /** The candidate's weights (percent of first tries), increasing, the last one 100. */
  steps: number[];
  intervalMs: number;
  maxFallbackRate: number;
  /** Unset: latency is measured and shown, never a guardrail. */
  maxP95Ms: number | null;
  minSchemaValid: number;
  minSamples: number;
  maxFailedChecks: number;
}

/** The defaults of the rollout policy (ADR 0001). */
export const CANARY_DEFAULTS: Readonly<CanarySettings> = Object.freeze({
  steps: [5, 25, 50, 100],
  intervalMs: 10 * 60_000,
  maxFallbackRate: 0.05,
  maxP95Ms: null,
  minSchemaValid: 0.99,
  minSamples: 30,
  maxFailedChecks: 2,
});

/** The flags of `genloop canary start` as commander hands them over (all text). */
export interface CanaryFlags {
  steps?: string | undefined;
  interval?: string | undefined;
  maxFallbackRate?: string | undefined;
  maxP95Ms?: string | undefined;
  minSchemaValid?: string | undefined;
  minSamples?: string | undefined;
  maxFailedChecks?: string | undefined;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };
const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 24 * 3_600_000;

/**
 * Checks the flags of `canary start` and fills in the defaults; anything that makes no sense is
 * a one-line operator error naming the flag, before the database is touched.
 *
 * @example
 * parseCanaryFlags({ steps: '20,50,100', interval: '4s', minSamples: '10' });
 */
export function parseCanaryFlags(flags: CanaryFlags): CanarySettings {
  return {
    steps: flags.steps === undefined ? [...CANARY_DEFAULTS.steps] : parseSteps(flags.steps),
    intervalMs:
      flags.interval === undefined ? CANARY_DEFAULTS.intervalMs : parseInterval(flags.interval),
    maxFallbackRate:
      flags.maxFallbackRate === undefined
        ? CANARY_DEFAULTS.maxFallbackRate
        : parseRate('--max-fallback-rate', flags.maxFallbackRate),
    maxP95Ms:
      flags.maxP95Ms === undefined
        ? null
        : parseWhole('--max-p95-ms', flags.maxP95Ms, 1, 3_600_000),
    minSchemaValid:
      flags.minSchemaValid === undefined
        ? CANARY_DEFAULTS.minSchemaValid
        : parseRate('--min-schema-valid', flags.minSchemaValid),
    minSamples:
      flags.minSamples === undefined
        ? CANARY_DEFAULTS.minSamples
        : parseWhole('--min-samples', flags.minSamples, 1, 1_000_000),
    maxFailedChecks:
      flags.maxFailedChecks === undefined
        ? CANARY_DEFAULTS.maxFailedChecks
        : parseWhole('--max-failed-checks', flags.maxFailedChecks, 0, 100),
  };
}

/** `5,25,50,100`: whole percentages from 1 to 100, each above the one before, ending at 100. */
export function parseSteps(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const steps = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN));
  const bad = parts.find((_, index) => !(steps[index]! >= 1 && steps[index]! <= 100));
  if (bad !== undefined) {
    throw new OperatorError(
      `--steps "${text}": "${bad}" is not a whole percentage from 1 to 100; give increasing weights ending at 100, e.g. 5,25,50,100.`,
    );
  }
  const descending = steps.findIndex((step, index) => index > 0 && step <= steps[index - 1]!);
  if (descending !== -1) {
    throw new OperatorError(
      `--steps "${text}": each step must be above the one before (${steps[descending - 1]} then ${steps[descending]}).`,
    );
  }
  if (steps.at(-1) !== 100) {
    throw new OperatorError(
      `--steps "${text}" must end at 100: the last step gives the candidate every first try before it is promoted.`,
    );
  }
  return steps;
}

/** `30s`, `10m`, `1h`: from one second to a day. */
export function parseInterval(text: string): number {
  const match = /^(\d{1,6})([smh])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2]!]! : Number.NaN;
  if (!(ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS)) {
    throw new OperatorError(
      `--interval "${text}" is not a duration from 1s to 24h; use a whole number with s, m or h, e.g. 30s, 10m, 1h.`,
    );
  }
  return ms;
}

/** The shortest way to write an interval back: `4s`, `90s`, `10m`, `1h`. */
export function formatInterval(ms: number): string {
  if (ms % UNITS.h! === 0) return `${ms / UNITS.h!}h`;
  if (ms % UNITS.m! === 0) return `${ms / UNITS.m!}m`;
  if (ms % UNITS.s! === 0) return `${ms / UNITS.s!}s`;
  return `${ms}ms`;
}

function parseRate(flag: string, text: string): number {
  const value = /^(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(value >= 0 && value <= 1)) {
    throw new OperatorError(`${flag} "${text}" is not a rate from 0 to 1 (e.g. 0.05).`);
  }
  return value;
}

function parseWhole(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new OperatorError(`${flag} "${text}" is not a whole number from ${min} to ${max}.`);
  }
  return value;
}

/** `--notify`: an http(s) URL the decisions are posted to. */
export function parseNotifyUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new OperatorError(`--notify "${text}" is not an http or https URL.`);
  }
  return url.toString();
}
