import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../lib/errors.ts';
import {
  CANARY_DEFAULTS,
  formatInterval,
  parseCanaryFlags,
  parseInterval,
  parseNotifyUrl,
  parseSteps,
} from './settings.ts';

const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OperatorError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('canary settings', () => {
  it('defaults are the rollout policy', () => {
    expect(parseCanaryFlags({})).toEqual({
      steps: [5, 25, 50, 100],
      intervalMs: 600_000,
      maxFallbackRate: 0.05,
      maxP95Ms: null,
      minSchemaValid: 0.99,
      minSamples: 30,
      maxFailedChecks: 2,
    });
    expect(CANARY_DEFAULTS.steps).toEqual([5, 25, 50, 100]);
  });

  it('reads every flag', () => {
    expect(
      parseCanaryFlags({
        steps: '20, 50,100',
        interval: '4s',
        maxFallbackRate: '.1',
        maxP95Ms: '8000',
        minSchemaValid: '1',
        minSamples: '10',
        maxFailedChecks: '0',
      }),
    ).toEqual({
      steps: [20, 50, 100],
      intervalMs: 4_000,
      maxFallbackRate: 0.1,
      maxP95Ms: 8_000,
      minSchemaValid: 1,
      minSamples: 10,
      maxFailedChecks: 0,
    });
  });

  it('refuses steps that do not increase, leave 1..100 or do not end at 100', () => {
    expect(refused(() => parseSteps('5,25,25,100'))).toContain(
      'each step must be above the one before (25 then 25)',
    );
    expect(refused(() => parseSteps('50,20,100'))).toContain('(50 then 20)');
    expect(refused(() => parseSteps('5,25,50'))).toContain('must end at 100');
    expect(refused(() => parseSteps('0,100'))).toContain('"0" is not a whole percentage');
    expect(refused(() => parseSteps('5,,100'))).toContain('"" is not a whole percentage');
    expect(refused(() => parseSteps('5,150'))).toContain('"150"');
    expect(refused(() => parseSteps('12.5,100'))).toContain('"12.5"');
  });

  it('intervals take s, m or h, from 1s to 24h', () => {
    expect(parseInterval('90s')).toBe(90_000);
    expect(parseInterval('10m')).toBe(600_000);
    expect(parseInterval('2h')).toBe(7_200_000);
    for (const bad of ['0s', '10', '5d', '1.5m', '25h', '-1s', '']) {
      expect(refused(() => parseInterval(bad))).toContain('--interval');
    }
    expect([4_000, 90_000, 600_000, 3_600_000].map(formatInterval)).toEqual([
      '4s',
      '90s',
      '10m',
      '1h',
    ]);
  });

  it('refuses rates outside 0..1 and counts that are not whole', () => {
    expect(refused(() => parseCanaryFlags({ maxFallbackRate: '1.5' }))).toBe(
      '--max-fallback-rate "1.5" is not a rate from 0 to 1 (e.g. 0.05).',
    );
    expect(refused(() => parseCanaryFlags({ minSchemaValid: '-0.1' }))).toContain(
      '--min-schema-valid',
    );
    expect(refused(() => parseCanaryFlags({ minSchemaValid: 'high' }))).toContain(
      '--min-schema-valid',
    );
    expect(refused(() => parseCanaryFlags({ minSamples: '0' }))).toContain('--min-samples "0"');
    expect(refused(() => parseCanaryFlags({ maxFailedChecks: '1.5' }))).toContain(
      '--max-failed-checks',
    );
    expect(refused(() => parseCanaryFlags({ maxP95Ms: '0' }))).toContain('--max-p95-ms');
  });

  it('notify takes http and https URLs only', () => {
    expect(parseNotifyUrl('https://hooks.example.com/canary')).toBe(
      'https://hooks.example.com/canary',
    );
    expect(refused(() => parseNotifyUrl('ftp://example.com'))).toContain('--notify');
    expect(refused(() => parseNotifyUrl('not a url'))).toContain('--notify');
  });
});
