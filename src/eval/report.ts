import type { GateName, GateResult, GateThresholds } from './gates.ts';
import type { LatencySummary, MetricName, Metrics, RateCount, RateMetric } from './metrics.ts';
import type { SchemaVariant } from './variants.ts';

/** Exit codes of `genloop eval run` (as for every gate): pass, gate failed, too few samples. */
export const EXIT_PASSED = 0;
export const EXIT_GATE_FAILED = 2;
export const EXIT_INCONCLUSIVE = 3;

/**
 * The report `genloop eval run` writes (`--report`). Every key is always present; a metric that
 * cannot be computed is null and `metric_reasons` says why.
 */
export interface EvalReport {
  report_version: 1;
  /** `passed`, `failed` (a gate failed) or `inconclusive` (fewer samples than min_samples). */
  status: 'passed' | 'failed' | 'inconclusive';
  /** Every gate passed (also reported when the run is inconclusive). */
  passed: boolean;
  exit_code: typeof EXIT_PASSED | typeof EXIT_GATE_FAILED | typeof EXIT_INCONCLUSIVE;
  sample_count: number;
  min_samples: number;
  /** Why the run is inconclusive; null otherwise. */
  note: string | null;
  schema_variant: SchemaVariant;
  run_type: string;
  triggered_by: string | null;
  trigger_ref: string | null;
  git_sha: string | null;
  input: string;
  started_at: string;
  finished_at: string;
  /** `ai_eval_runs.id` when the run was ingested with --ingest; null otherwise. */
  run_id: number | null;
  thresholds: GateThresholds;
  metrics: Record<MetricName, number | null>;
  metric_reasons: Record<MetricName, string | null>;
  counts: Record<RateMetric, RateCount>;
  latency_ms: LatencySummary;
  gates: GateResult[];
  failed_gates: GateName[];
}

export interface ReportContext {
  schemaVariant: SchemaVariant;
  minSamples: number;
  runType: string;
  triggeredBy: string | null;
  triggerRef: string | null;
  gitSha: string | null;
  input: string;
  startedAt: string;
  finishedAt: string;
  thresholds: GateThresholds;
}

/** Puts metrics and gate results together into the report, and decides status and exit code. */
export function buildReport(
  context: ReportContext,
  metrics: Metrics,
  gates: GateResult[],
): EvalReport {
  const passed = gates.every((gate) => gate.passed);
  const inconclusive = metrics.sample_count < context.minSamples;
  const status = inconclusive ? 'inconclusive' : passed ? 'passed' : 'failed';
  return {
    report_version: 1,
    status,
    passed,
    exit_code: inconclusive ? EXIT_INCONCLUSIVE : passed ? EXIT_PASSED : EXIT_GATE_FAILED,
    sample_count: metrics.sample_count,
    min_samples: context.minSamples,
    note: inconclusive
      ? `only ${metrics.sample_count} sample(s), fewer than --min-samples ${context.minSamples}: gates are reported but not enforced`
      : null,
    schema_variant: context.schemaVariant,
    run_type: context.runType,
    triggered_by: context.triggeredBy,
    trigger_ref: context.triggerRef,
    git_sha: context.gitSha,
    input: context.input,
    started_at: context.startedAt,
    finished_at: context.finishedAt,
    run_id: null,
    thresholds: context.thresholds,
    metrics: metrics.metrics,
    metric_reasons: metrics.metric_reasons,
    counts: metrics.counts,
    latency_ms: metrics.latency_ms,
    gates,
    failed_gates: gates.filter((gate) => !gate.passed).map((gate) => gate.name),
  };
}

/** The report as stored in `ai_eval_runs.report` (the row's own id is the run id). */
export function storedReport(report: EvalReport): Omit<EvalReport, 'run_id'> {
  const { run_id: _runId, ...rest } = report;
  return rest;
}
