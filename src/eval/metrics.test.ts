import { describe, expect, it } from 'vitest';
import { MetricsAccumulator } from './metrics.ts';
import type { EvalRecord } from './record.ts';
import { judgeRecord } from './sample.ts';

const SITE = {
  title: 'Bakery',
  sections: [
    {
      id: 'hero',
      type: 'hero',
      html: '<section class="p-4"><h1 class="text-2xl">Hi</h1></section>',
    },
  ],
};
const UNSAFE_SITE = {
  title: 'Bakery',
  sections: [{ id: 'hero', type: 'hero', html: '<section onclick="x()">Hi</section>' }],
};

function record(id: number, fields: Partial<EvalRecord>): EvalRecord {
  return {
    id: `r${id}`,
    created_at: '2026-02-15T10:00:00Z',
    schema_variant: 'sitecraft',
    ...fields,
  };
}

/** Ten hand-made records whose every metric is known by hand (see comments). */
const RECORDS: EvalRecord[] = [
  record(1, {
    output: SITE,
    patch_apply_success: true,
    edit_after_generate: false,
    publish_conversion: true,
    fallback_used: false,
    latency_ms: 100,
  }),
  record(2, {
    output: SITE,
    patch_apply_success: false,
    edit_after_generate: true,
    publish_conversion: false,
    fallback_used: true,
    latency_ms: 200,
  }),
  record(3, {
    output: UNSAFE_SITE,
    patch_apply_success: true,
    edit_after_generate: null,
    publish_conversion: true,
    fallback_used: false,
    latency_ms: 300,
  }),
  record(4, { output: { title: 'no sections' }, fallback_used: false, latency_ms: 400 }),
  record(5, {
    output: SITE,
    schema_valid: false,
    safety_compliant: false,
    fallback_used: false,
    latency_ms: 500,
  }),
  record(6, { publish_conversion: false, fallback_used: null, latency_ms: null }),
  record(7, { output: 'not json, not a site', fallback_used: false, latency_ms: 700 }),
  record(8, { output: SITE, fallback_used: true, latency_ms: 800 }),
  record(9, { schema_valid: true, safety_compliant: true, latency_ms: 900 }),
  record(10, { output: null, edit_after_generate: true, latency_ms: 1000.4 }),
];

describe('metrics over hand-made records', () => {
  const accumulator = new MetricsAccumulator();
  for (const item of RECORDS) accumulator.add(judgeRecord(item, 'sitecraft'));
  const result = accumulator.result();

  it('counts samples', () => {
    expect(result.sample_count).toBe(10);
  });

  it('schema_valid_rate: computed from output unless explicit; no output → not observed', () => {
    // valid: r1 r2 r3 r8 (computed) + r9 (explicit) = 5; invalid: r4 r7 (computed) + r5 (explicit) = 3;
    // r6 and r10 have no output and no explicit value.
    expect(result.counts.schema_valid_rate).toEqual({ numerator: 5, denominator: 8, missing: 2 });
    expect(result.metrics.schema_valid_rate).toBe(0.625);
  });

  it('safety: sitecraft HTML is checked unless explicit; no HTML → not observed', () => {
    // safe: r1 r2 r8 (computed) + r9 (explicit); unsafe: r3 (onclick) + r5 (explicit);
    // r7's string output is HTML text without markup, so it is checked and safe.
    // r4 has no sections, r6 and r10 no output.
    expect(result.counts.safety_html_tailwind_compliance).toEqual({
      numerator: 5,
      denominator: 7,
      missing: 3,
    });
    expect(result.metrics.safety_html_tailwind_compliance).toBe(0.714286);
  });

  it('product outcomes count only where observed', () => {
    expect(result.counts.patch_apply_success).toEqual({ numerator: 2, denominator: 3, missing: 7 });
    expect(result.metrics.patch_apply_success).toBe(0.666667);
    expect(result.counts.edit_after_generate_rate).toEqual({
      numerator: 2,
      denominator: 3,
      missing: 7,
    });
    expect(result.metrics.edit_after_generate_rate).toBe(0.666667);
    expect(result.counts.publish_conversion_proxy).toEqual({
      numerator: 2,
      denominator: 4,
      missing: 6,
    });
    expect(result.metrics.publish_conversion_proxy).toBe(0.5);
  });

  it('fallback_rate over records that say whether a fallback was used', () => {
    // r6 null, r9 and r10 absent.
    expect(result.counts.fallback_rate).toEqual({ numerator: 2, denominator: 7, missing: 3 });
    expect(result.metrics.fallback_rate).toBe(0.285714);
  });

  it('latency percentiles are percentile_cont over whole milliseconds', () => {
    // latencies: 100 200 300 400 500 700 800 900 1000 (r10's 1000.4 rounds to 1000; r6 has none).
    // p95: position 0.95 * 8 = 7.6 → 900 + 0.6 * 100 = 960. p50: position 4 → 500.
    // p99: position 7.92 → 900 + 0.92 * 100 = 992.
    expect(result.latency_ms).toEqual({
      count: 9,
      missing: 1,
      min: 100,
      max: 1000,
      mean: 544.444,
      p50: 500,
      p95: 960,
      p99: 992,
    });
    expect(result.metrics.p95_latency_ms).toBe(960);
  });

  it('leaves every metric key in place with no reason when computed', () => {
    expect(Object.keys(result.metrics)).toHaveLength(7);
    expect(Object.values(result.metric_reasons).every((reason) => reason === null)).toBe(true);
  });
});

describe('metrics that cannot be computed', () => {
  it('are null with a reason', () => {
    const accumulator = new MetricsAccumulator();
    accumulator.add(judgeRecord(record(1, {}), 'sitecraft'));
    const result = accumulator.result();
    expect(result.metrics).toEqual({
      schema_valid_rate: null,
      patch_apply_success: null,
      edit_after_generate_rate: null,
      publish_conversion_proxy: null,
      safety_html_tailwind_compliance: null,
      fallback_rate: null,
      p95_latency_ms: null,
    });
    expect(result.metric_reasons.schema_valid_rate).toMatch(
      /no record observed schema_valid .* no output to validate|none has an output to validate/,
    );
    expect(result.metric_reasons.p95_latency_ms).toMatch(/no record has latency_ms/);
    expect(result.latency_ms.p50).toBeNull();
  });
});
