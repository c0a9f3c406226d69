import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateGates, GATE_NAMES, loadGatesFile, parseGates } from './gates.ts';
import type { MetricName } from './metrics.ts';

const metrics: Record<MetricName, number | null> = {
  schema_valid_rate: 0.98,
  patch_apply_success: 0.9,
  edit_after_generate_rate: null,
  publish_conversion_proxy: 0.3,
  safety_html_tailwind_compliance: 1,
  fallback_rate: 0.05,
  p95_latency_ms: 1200,
};

describe('parseGates', () => {
  it('accepts any subset of the seven gates', () => {
    expect(parseGates({})).toEqual({});
    expect(parseGates({ fallback_rate_max: 0.1, p95_latency_ms_max: 5000 })).toEqual({
      fallback_rate_max: 0.1,
      p95_latency_ms_max: 5000,
    });
  });

  it.each([
    [
      { schema_valid_min: 0.9 },
      /unknown gate "schema_valid_min"; known gates: schema_valid_rate_min/,
    ],
    [[], /must be a JSON object/],
    [null, /must be a JSON object/],
    [{ fallback_rate_max: '0.1' }, /fallback_rate_max: threshold must be a number/],
    [{ schema_valid_rate_min: 1.5 }, /out of range \(a rate from 0 to 1\)/],
    [{ p95_latency_ms_max: -1 }, /out of range \(milliseconds >= 0\)/],
  ])('rejects %j', (value, message) => {
    expect(() => parseGates(value)).toThrow(message);
  });
});

describe('evaluateGates', () => {
  it('passes min gates at or above and max gates at or below the threshold', () => {
    const results = evaluateGates(
      { schema_valid_rate_min: 0.98, fallback_rate_max: 0.05, p95_latency_ms_max: 1200 },
      metrics,
    );
    expect(results.map((gate) => [gate.name, gate.passed])).toEqual([
      ['schema_valid_rate_min', true],
      ['fallback_rate_max', true],
      ['p95_latency_ms_max', true],
    ]);
  });

  it('fails quality and operational gates on the wrong side, and a gate whose metric is null', () => {
    const results = evaluateGates(
      {
        patch_apply_success_min: 0.95,
        edit_after_generate_rate_min: 0.1,
        fallback_rate_max: 0.01,
        p95_latency_ms_max: 1000,
        safety_html_tailwind_compliance_min: 1,
      },
      metrics,
    );
    expect(results).toEqual([
      {
        name: 'patch_apply_success_min',
        metric: 'patch_apply_success',
        kind: 'min',
        threshold: 0.95,
        value: 0.9,
        passed: false,
        reason: 'patch_apply_success 0.9 < 0.95',
      },
      {
        name: 'edit_after_generate_rate_min',
        metric: 'edit_after_generate_rate',
        kind: 'min',
        threshold: 0.1,
        value: null,
        passed: false,
        reason: 'edit_after_generate_rate could not be computed',
      },
      {
        name: 'safety_html_tailwind_compliance_min',
        metric: 'safety_html_tailwind_compliance',
        kind: 'min',
        threshold: 1,
        value: 1,
        passed: true,
        reason: null,
      },
      {
        name: 'fallback_rate_max',
        metric: 'fallback_rate',
        kind: 'max',
        threshold: 0.01,
        value: 0.05,
        passed: false,
        reason: 'fallback_rate 0.05 > 0.01',
      },
      {
        name: 'p95_latency_ms_max',
        metric: 'p95_latency_ms',
        kind: 'max',
        threshold: 1000,
        value: 1200,
        passed: false,
        reason: 'p95_latency_ms 1200 > 1000',
      },
    ]);
  });
});

describe('evals/gates.json', () => {
  const root = new URL('../../', import.meta.url);

  it('sets all seven gates and is the release-gates file of the rollout ADR', async () => {
    const gates = await loadGatesFile(new URL('evals/gates.json', root).pathname);
    expect(Object.keys(gates).sort()).toEqual([...GATE_NAMES].sort());
    const adr = JSON.parse(
      readFileSync(new URL('docs/adr/0001-release-gates.json', root), 'utf8'),
    ) as unknown;
    expect(gates).toEqual(adr);
  });
});
