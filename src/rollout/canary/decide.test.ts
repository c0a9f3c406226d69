import { describe, expect, it } from 'vitest';
import { type DecisionInput, decide, type WindowStats } from './decide.ts';

const healthy: WindowStats = {
  samples: 40,
  fallbackRate: 0.01,
  p95LatencyMs: 900,
  schemaValidRate: 0.995,
  schemaValidSamples: 40,
  safetyRate: null,
  safetySamples: 0,
};

const baseline: WindowStats = {
  samples: 400,
  fallbackRate: 0,
  p95LatencyMs: 800,
  schemaValidRate: 0.99,
  schemaValidSamples: 400,
  safetyRate: null,
  safetySamples: 0,
};

function input(overrides: Partial<DecisionInput> = {}, candidate: Partial<WindowStats> = {}) {
  return {
    thresholds: {
      minSamples: 30,
      maxFailedChecks: 2,
      maxFallbackRate: 0.05,
      maxP95Ms: null,
      minSchemaValid: 0.99,
    },
    steps: [5, 25, 50, 100],
    stepIndex: 0,
    failedChecks: 0,
    inconclusiveChecks: 0,
    candidate: { ...healthy, ...candidate },
    baseline,
    ...overrides,
  } satisfies DecisionInput;
}

describe('decide', () => {
  it('passes a healthy check and takes the next step', () => {
    const decision = decide(input());
    expect(decision).toMatchObject({
      verdict: 'passed',
      action: 'step',
      stepIndex: 1,
      failedChecks: 0,
      inconclusiveChecks: 0,
    });
    expect(decision.reason).toBe('passed: 40 first tries, every guardrail held; 5% → 25%');
  });

  it('promotes after a healthy check at the last step', () => {
    const decision = decide(input({ stepIndex: 3 }));
    expect(decision).toMatchObject({ verdict: 'passed', action: 'promote', stepIndex: 3 });
  });

  it('holds on too few samples, and halts after max-failed-checks + 1 of them in a row', () => {
    const first = decide(input({}, { samples: 29 }));
    expect(first).toMatchObject({
      verdict: 'inconclusive',
      action: 'hold',
      inconclusiveChecks: 1,
      stepIndex: 0,
    });
    expect(first.reason).toContain('29 first tries to the candidate');
    expect(decide(input({ inconclusiveChecks: 1 }, { samples: 0 })).action).toBe('hold');
    const third = decide(input({ inconclusiveChecks: 2 }, { samples: 0 }));
    expect(third).toMatchObject({ verdict: 'inconclusive', action: 'halt', inconclusiveChecks: 3 });
    expect(third.reason).toMatch(/^halted: 3 checks in a row without enough traffic/);
  });

  it('a conclusive check ends the run of inconclusive ones', () => {
    expect(decide(input({ inconclusiveChecks: 2 })).inconclusiveChecks).toBe(0);
    expect(decide(input({ inconclusiveChecks: 2 }, { fallbackRate: 0.5 })).inconclusiveChecks).toBe(
      0,
    );
  });

  it('counts a guardrail breach as a failed check and holds; one more than allowed rolls back', () => {
    const first = decide(input({}, { fallbackRate: 0.051 }));
    expect(first).toMatchObject({
      verdict: 'failed',
      action: 'hold',
      failedChecks: 1,
      stepIndex: 0,
    });
    expect(first.reason).toBe(
      'failed check 1 of 2 allowed: fallback rate 0.051 > 0.050; holding at 5%',
    );
    expect(decide(input({ failedChecks: 1 }, { fallbackRate: 0.2 })).action).toBe('hold');
    const third = decide(input({ failedChecks: 2 }, { fallbackRate: 0.2 }));
    expect(third).toMatchObject({ verdict: 'failed', action: 'rollback', failedChecks: 3 });
    expect(third.reason).toMatch(/^rolled back: 3 failed checks, more than the 2 allowed/);
  });

  it('a rate exactly at its limit holds the guardrail', () => {
    expect(decide(input({}, { fallbackRate: 0.05, schemaValidRate: 0.99 })).action).toBe('step');
  });

  it('checks p95 latency only when a limit is set', () => {
    expect(decide(input({}, { p95LatencyMs: 50_000 })).action).toBe('step');
    const limited = input({}, { p95LatencyMs: 2_500 });
    limited.thresholds.maxP95Ms = 2_000;
    const decision = decide(limited);
    expect(decision).toMatchObject({ verdict: 'failed', action: 'hold' });
    expect(decision.reason).toContain('p95 latency 2500 ms > 2000 ms');
  });

  it('a schema-valid rate under --min-schema-valid is a failed check', () => {
    const decision = decide(input({}, { schemaValidRate: 0.985 }));
    expect(decision).toMatchObject({ verdict: 'failed', action: 'hold' });
    expect(decision.reason).toContain('schema-valid rate 0.985 < 0.990');
  });

  it('rolls back at once when schema-valid is more than 1 point below the baseline, on any sample count', () => {
    const decision = decide(input({}, { samples: 3, schemaValidRate: 0.6, schemaValidSamples: 3 }));
    expect(decision).toMatchObject({ verdict: 'failed', action: 'rollback', failedChecks: 1 });
    expect(decision.reason).toMatch(/^rolled back at once: schema-valid rate 0\.600 < 0\.980/);
    // Exactly one point below is not more than one point below.
    expect(decide(input({}, { schemaValidRate: 0.98 })).action).not.toBe('rollback');
  });

  it('rolls back at once on a safety regression: below the baseline, or below 0.995', () => {
    const againstBaseline = input({ baseline: { ...baseline, safetyRate: 1, safetySamples: 400 } });
    againstBaseline.candidate = { ...healthy, safetyRate: 0.999, safetySamples: 1000 };
    expect(decide(againstBaseline).action).toBe('rollback');
    const floor = decide(input({}, { samples: 2, safetyRate: 0.5, safetySamples: 2 }));
    expect(floor.action).toBe('rollback');
    expect(floor.reason).toContain('safety compliance 0.500 < 0.995');
    expect(decide(input({}, { safetyRate: 1, safetySamples: 40 })).action).toBe('step');
  });

  it('ignores relative triggers when the baseline observed nothing (the last step)', () => {
    const decision = decide(
      input({
        stepIndex: 3,
        baseline: { ...baseline, samples: 0, schemaValidRate: null, schemaValidSamples: 0 },
      }),
    );
    expect(decision.action).toBe('promote');
    expect(
      decision.guardrails.find((check) => check.name === 'schema_valid_vs_baseline')?.ok,
    ).toBeNull();
  });

  it('reports every guardrail with its value and limit', () => {
    const { guardrails } = decide(input());
    expect(guardrails.map((check) => [check.name, check.value, check.limit, check.ok])).toEqual([
      ['fallback_rate', 0.01, 0.05, true],
      ['p95_latency_ms', 900, null, null],
      ['schema_valid_rate', 0.995, 0.99, true],
      ['schema_valid_vs_baseline', 0.995, 0.98, true],
      ['safety', null, 0.995, null],
    ]);
  });
});
