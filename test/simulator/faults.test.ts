import { describe, expect, it } from 'vitest';
import {
  FaultSyntaxError,
  faultConfigFromHeader,
  latencySampler,
  parseFault,
  parseFaultConfig,
  parseLatency,
  resolveFaults,
} from '../../src/simulator/index.ts';
import { LatencyTable } from '../../src/simulator/latency.ts';
import { seededRandom } from '../../src/simulator/seeded.ts';

describe('fault grammar', () => {
  it('parses every fault with its argument', () => {
    expect(parseFault('ok', 'openai')).toEqual({ kind: 'ok' });
    expect(parseFault('error:429', 'openai')).toEqual({
      kind: 'error',
      status: 429,
      retryAfterSeconds: 1,
    });
    expect(parseFault('error:503', 'openai')).toEqual({
      kind: 'error',
      status: 503,
      retryAfterSeconds: undefined,
    });
    expect(parseFault('error:503:4', 'custom')).toEqual({
      kind: 'error',
      status: 503,
      retryAfterSeconds: 4,
    });
    expect(parseFault('slow:250', 'openrouter')).toEqual({ kind: 'slow', ms: 250 });
    expect(parseFault('stream-cut:3', 'openai')).toEqual({ kind: 'stream-cut', chunks: 3 });
    expect(parseFault('stall:1000', 'openai')).toEqual({ kind: 'stall', ms: 1000 });
    expect(parseFault(' duplicate-webhook ', 'replicate')).toEqual({ kind: 'duplicate-webhook' });
  });

  it('rejects unknown faults, bad arguments and faults of another protocol', () => {
    expect(() => parseFault('explode', 'openai')).toThrow(FaultSyntaxError);
    expect(() => parseFault('error:42', 'openai')).toThrow(/HTTP status/);
    expect(() => parseFault('error', 'openai')).toThrow(/HTTP status/);
    expect(() => parseFault('slow:-5', 'openai')).toThrow(/milliseconds/);
    expect(() => parseFault('hang:5', 'openai')).toThrow(/takes no argument/);
    expect(() => parseFault('stream-cut:2', 'replicate')).toThrow(/does not apply to replicate/);
    expect(() => parseFault('no-webhook', 'openai')).toThrow(/does not apply to openai/);
  });

  it('splits the header into targets', () => {
    expect(faultConfigFromHeader('openai=error:503; replicate=slow:10,fail ;')).toEqual({
      openai: 'error:503',
      replicate: 'slow:10,fail',
    });
    expect(() => faultConfigFromHeader('openai')).toThrow(/<provider>=<fault>/);
  });
});

describe('fault resolution', () => {
  const configured = parseFaultConfig({
    openai: 'error:503',
    'openai/gpt-4o-mini': 'hang',
    'replicate/black-forest-labs/flux-schnell': 'slow:100,duplicate-webhook',
  });

  it('header provider/model, then header provider, then config provider/model, then config provider', () => {
    expect(resolveFaults('openai', 'gpt-4o', undefined, configured)).toEqual([
      { kind: 'error', status: 503, retryAfterSeconds: undefined },
    ]);
    expect(resolveFaults('openai', 'gpt-4o-mini', undefined, configured)).toEqual([
      { kind: 'hang' },
    ]);
    expect(resolveFaults('openai', 'gpt-4o-mini', 'openai=reset', configured)).toEqual([
      { kind: 'reset' },
    ]);
    expect(
      resolveFaults('openai', 'gpt-4o-mini', 'openai=reset;openai/gpt-4o-mini=ok', configured),
    ).toEqual([{ kind: 'ok' }]);
    expect(
      resolveFaults('replicate', 'black-forest-labs/flux-schnell', undefined, configured),
    ).toEqual([{ kind: 'slow', ms: 100 }, { kind: 'duplicate-webhook' }]);
    expect(resolveFaults('custom', 'llama', undefined, configured)).toEqual([{ kind: 'ok' }]);
  });

  it('ignores header entries of other providers, even ones it could not parse for this one', () => {
    expect(
      resolveFaults('custom', 'llama', 'openai=stream-cut:1;replicate=no-webhook', configured),
    ).toEqual([{ kind: 'ok' }]);
  });
});

describe('latency', () => {
  function percentile(samples: number[], p: number): number {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) * p)]!;
  }

  it.each([
    ['uniform', 100, 180],
    ['lognormal', 100, 400],
  ] as const)('%s samples have the requested p50 and p99', (distribution, p50Ms, p99Ms) => {
    const sample = latencySampler({ distribution, p50Ms, p99Ms });
    const random = seededRandom('latency-test');
    const samples = Array.from({ length: 20_000 }, () => sample(random));
    expect(percentile(samples, 0.5)).toBeGreaterThan(p50Ms * 0.9);
    expect(percentile(samples, 0.5)).toBeLessThan(p50Ms * 1.1);
    expect(percentile(samples, 0.99)).toBeGreaterThan(p99Ms * 0.9);
    expect(percentile(samples, 0.99)).toBeLessThan(p99Ms * 1.1);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
  });

  it('fixed is fixed; bad specs are refused', () => {
    expect(latencySampler({ distribution: 'fixed', p50Ms: 25 })()).toBe(25);
    expect(() => latencySampler({ distribution: 'lognormal', p50Ms: 100 })).toThrow(/p99Ms/);
    expect(() => latencySampler({ distribution: 'uniform', p50Ms: 100, p99Ms: 50 })).toThrow(
      /p99Ms/,
    );
    expect(() => latencySampler({ distribution: 'uniform', p50Ms: 100, p99Ms: 400 })).toThrow(
      /use lognormal/,
    );
  });

  it('resolves by target like faults, with no latency by default', () => {
    const table = new LatencyTable({
      '*': { distribution: 'fixed', p50Ms: 1 },
      openai: { distribution: 'fixed', p50Ms: 2 },
      'openai/gpt-4o': { distribution: 'fixed', p50Ms: 3 },
    });
    expect(table.sample('openai', 'gpt-4o')).toBe(3);
    expect(table.sample('openai', 'gpt-4o-mini')).toBe(2);
    expect(table.sample('replicate', undefined)).toBe(1);
    expect(new LatencyTable(undefined).sample('openai', 'gpt-4o')).toBe(0);
  });

  it('parses the CLI form', () => {
    expect(parseLatency('40')).toEqual({ distribution: 'fixed', p50Ms: 40 });
    expect(parseLatency('lognormal:80:400')).toEqual({
      distribution: 'lognormal',
      p50Ms: 80,
      p99Ms: 400,
    });
    expect(() => parseLatency('gaussian:1:2')).toThrow(RangeError);
  });
});
