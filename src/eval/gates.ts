import { readFile } from 'node:fs/promises';
import { OperatorError, toError } from '../lib/errors.ts';
import type { MetricName } from './metrics.ts';

/** Every gate a gates file may set: the metric it reads and which side of the threshold passes. */
export const GATE_DEFINITIONS = {
  schema_valid_rate_min: { metric: 'schema_valid_rate', kind: 'min' },
  patch_apply_success_min: { metric: 'patch_apply_success', kind: 'min' },
  edit_after_generate_rate_min: { metric: 'edit_after_generate_rate', kind: 'min' },
  publish_conversion_proxy_min: { metric: 'publish_conversion_proxy', kind: 'min' },
  safety_html_tailwind_compliance_min: { metric: 'safety_html_tailwind_compliance', kind: 'min' },
  fallback_rate_max: { metric: 'fallback_rate', kind: 'max' },
  p95_latency_ms_max: { metric: 'p95_latency_ms', kind: 'max' },
} as const satisfies Record<string, { metric: MetricName; kind: 'min' | 'max' }>;

export type GateName = keyof typeof GATE_DEFINITIONS;
export const GATE_NAMES = Object.keys(GATE_DEFINITIONS) as GateName[];

/** A gates file: any subset of the seven gates, each a threshold. */
export type GateThresholds = Partial<Record<GateName, number>>;

export interface GateResult {
  name: GateName;
  metric: MetricName;
  kind: 'min' | 'max';
  threshold: number;
  value: number | null;
  passed: boolean;
  /** Why the gate failed, in words; null when it passed. */
  reason: string | null;
}

/**
 * Validates a parsed gates file: an object whose keys are gate names and whose values are
 * finite numbers (rates in [0, 1], latency >= 0). Throws an Error naming the key at fault.
 */
export function parseGates(value: unknown): GateThresholds {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('must be a JSON object of gate name → threshold');
  }
  const gates: GateThresholds = {};
  for (const [key, threshold] of Object.entries(value)) {
    if (!(key in GATE_DEFINITIONS)) {
      throw new Error(`unknown gate "${key}"; known gates: ${GATE_NAMES.join(', ')}`);
    }
    const name = key as GateName;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
      throw new Error(`${name}: threshold must be a number`);
    }
    if (name === 'p95_latency_ms_max' ? threshold < 0 : threshold < 0 || threshold > 1) {
      throw new Error(
        `${name}: threshold ${threshold} is out of range (${name === 'p95_latency_ms_max' ? 'milliseconds >= 0' : 'a rate from 0 to 1'})`,
      );
    }
    gates[name] = threshold;
  }
  return gates;
}

/** Reads and validates a gates file; any problem is an operator error (exit 1) naming the file. */
export async function loadGatesFile(path: string): Promise<GateThresholds> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OperatorError(`cannot read gates file ${path}: ${toError(error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OperatorError(`gates file ${path} is not valid JSON: ${toError(error).message}`, {
      cause: error,
    });
  }
  try {
    return parseGates(parsed);
  } catch (error) {
    throw new OperatorError(`gates file ${path}: ${toError(error).message}`, { cause: error });
  }
}

/**
 * Applies the gates to the metrics. A min gate passes when value >= threshold, a max gate when
 * value <= threshold; a gate whose metric is null fails (as in `ai_eval_failed_gates_v1`).
 */
export function evaluateGates(
  gates: GateThresholds,
  metrics: Record<MetricName, number | null>,
): GateResult[] {
  const results: GateResult[] = [];
  for (const name of GATE_NAMES) {
    const threshold = gates[name];
    if (threshold === undefined) continue;
    const { metric, kind } = GATE_DEFINITIONS[name];
    const value = metrics[metric];
    let reason: string | null = null;
    if (value === null) reason = `${metric} could not be computed`;
    else if (kind === 'min' && value < threshold) reason = `${metric} ${value} < ${threshold}`;
    else if (kind === 'max' && value > threshold) reason = `${metric} ${value} > ${threshold}`;
    results.push({ name, metric, kind, threshold, value, passed: reason === null, reason });
  }
  return results;
}
