import { NumberCollector, percentileCont } from './percentile.ts';
import { roundedRate, roundFloat8 } from './rounding.ts';
import type { EvalSample } from './sample.ts';

/** The seven metrics of an eval run (five quality, two operational), in report and gate order. */
export const METRIC_NAMES = [
  'schema_valid_rate',
  'patch_apply_success',
  'edit_after_generate_rate',
  'publish_conversion_proxy',
  'safety_html_tailwind_compliance',
  'fallback_rate',
  'p95_latency_ms',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** The six rate metrics and the sample field each one averages. */
export const RATE_FIELDS = {
  schema_valid_rate: 'schema_valid',
  patch_apply_success: 'patch_apply_success',
  edit_after_generate_rate: 'edit_after_generate',
  publish_conversion_proxy: 'publish_conversion',
  safety_html_tailwind_compliance: 'safety_compliant',
  fallback_rate: 'fallback_used',
} as const satisfies Record<Exclude<MetricName, 'p95_latency_ms'>, keyof EvalSample>;

export type RateMetric = keyof typeof RATE_FIELDS;
const RATE_METRICS = Object.keys(RATE_FIELDS) as RateMetric[];

/** How one rate was computed: numerator true values out of denominator observed values. */
export interface RateCount {
  numerator: number;
  denominator: number;
  /** Samples where the outcome was null (not observed). */
  missing: number;
}

export interface LatencySummary {
  /** Samples with a latency. */
  count: number;
  missing: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface Metrics {
  sample_count: number;
  metrics: Record<MetricName, number | null>;
  /** For every metric that is null, why; null when the metric has a value. */
  metric_reasons: Record<MetricName, string | null>;
  counts: Record<RateMetric, RateCount>;
  latency_ms: LatencySummary;
}

/**
 * What a {@link MetricsAccumulator} has folded so far, in a form that can be posted to another
 * thread and merged into another accumulator.
 */
export interface AccumulatorState {
  samples: number;
  positive: Float64Array;
  observed: Float64Array;
  latencies: Float64Array;
  latencySum: number;
}

/**
 * Folds samples into the seven metrics in constant memory, except for the latencies the
 * percentiles need (8 bytes each).
 *
 * Each rate is `round(numerator / denominator, 6)` over the samples where its outcome is not
 * null — exactly `round(avg(x::int)::numeric, 6)` in the view. Latency percentiles are
 * `percentile_cont` rounded to 3 decimals, also as in the view.
 */
export class MetricsAccumulator {
  #samples = 0;
  readonly #positive = new Float64Array(RATE_METRICS.length);
  readonly #observed = new Float64Array(RATE_METRICS.length);
  readonly #latencies = new NumberCollector();
  #latencySum = 0;

  get sampleCount(): number {
    return this.#samples;
  }

  add(sample: EvalSample): void {
    this.#samples++;
    // One call per record: the fields are read directly, in RATE_METRICS order, rather than
    // through a computed key, which keeps this monomorphic and cheap.
    this.#count(0, sample.schema_valid);
    this.#count(1, sample.patch_apply_success);
    this.#count(2, sample.edit_after_generate);
    this.#count(3, sample.publish_conversion);
    this.#count(4, sample.safety_compliant);
    this.#count(5, sample.fallback_used);
    if (sample.latency_ms !== null) {
      this.#latencies.push(sample.latency_ms);
      this.#latencySum += sample.latency_ms;
    }
  }

  #count(index: number, value: boolean | null): void {
    if (value === null) return;
    this.#observed[index]!++;
    if (value) this.#positive[index]!++;
  }

  /** What has been folded so far (copied), for {@link merge} in another accumulator. */
  state(): AccumulatorState {
    return {
      samples: this.#samples,
      positive: this.#positive.slice(),
      observed: this.#observed.slice(),
      latencies: this.#latencies.values(),
      latencySum: this.#latencySum,
    };
  }

  /**
   * Adds what another accumulator folded. Every metric is a count, a sum or a percentile of the
   * whole multiset, so merging the accumulators of parts of a file equals folding the whole file.
   */
  merge(state: AccumulatorState): void {
    this.#samples += state.samples;
    for (let index = 0; index < RATE_METRICS.length; index++) {
      this.#positive[index]! += state.positive[index]!;
      this.#observed[index]! += state.observed[index]!;
    }
    this.#latencies.pushAll(state.latencies);
    this.#latencySum += state.latencySum;
  }

  /** The metrics so far. Sorts the latencies in place; call once at the end. */
  result(): Metrics {
    const metrics = {} as Record<MetricName, number | null>;
    const reasons = {} as Record<MetricName, string | null>;
    const counts = {} as Record<RateMetric, RateCount>;
    RATE_METRICS.forEach((name, index) => {
      const numerator = this.#positive[index]!;
      const denominator = this.#observed[index]!;
      counts[name] = { numerator, denominator, missing: this.#samples - denominator };
      metrics[name] = denominator === 0 ? null : roundedRate(numerator, denominator);
      reasons[name] = denominator === 0 ? missingReason(name, this.#samples) : null;
    });

    const sorted = this.#latencies.sorted();
    const percentile = (fraction: number) => {
      const value = percentileCont(sorted, fraction);
      return value === undefined ? null : roundFloat8(value, 3);
    };
    const count = sorted.length;
    const latency: LatencySummary = {
      count,
      missing: this.#samples - count,
      min: count === 0 ? null : sorted[0]!,
      max: count === 0 ? null : sorted[count - 1]!,
      mean: count === 0 ? null : roundFloat8(this.#latencySum / count, 3),
      p50: percentile(0.5),
      p95: percentile(0.95),
      p99: percentile(0.99),
    };
    metrics.p95_latency_ms = latency.p95;
    reasons.p95_latency_ms =
      count === 0
        ? `no record has latency_ms (0 of ${this.#samples} samples observed a latency)`
        : null;

    return {
      sample_count: this.#samples,
      metrics,
      metric_reasons: reasons,
      counts,
      latency_ms: latency,
    };
  }
}

function missingReason(metric: RateMetric, samples: number): string {
  const field = RATE_FIELDS[metric];
  const computed =
    metric === 'schema_valid_rate'
      ? ' and none has an output to validate'
      : metric === 'safety_html_tailwind_compliance'
        ? ' and none has sitecraft HTML to check'
        : '';
  return `no record observed ${field} (null or absent in all ${samples} samples${computed})`;
}
