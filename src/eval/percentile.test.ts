import { describe, expect, it } from 'vitest';
import { NumberCollector, percentileCont } from './percentile.ts';

describe('percentileCont', () => {
  it('interpolates between the closest ranks like Postgres percentile_cont', () => {
    const values = Float64Array.of(10, 20, 30, 40);
    expect(percentileCont(values, 0.95)).toBeCloseTo(38.5, 12);
    expect(percentileCont(values, 0.5)).toBe(25);
    expect(percentileCont(values, 0)).toBe(10);
    expect(percentileCont(values, 1)).toBe(40);
  });

  it('returns the only value, and undefined for none', () => {
    expect(percentileCont(Float64Array.of(7), 0.95)).toBe(7);
    expect(percentileCont(new Float64Array(0), 0.95)).toBeUndefined();
  });

  it('rejects a fraction outside [0, 1]', () => {
    expect(() => percentileCont(Float64Array.of(1), 1.5)).toThrow(RangeError);
  });
});

describe('NumberCollector', () => {
  it('grows past its first block and sorts numerically', () => {
    const collector = new NumberCollector();
    for (let value = 3000; value > 0; value--) collector.push(value);
    expect(collector.length).toBe(3000);
    const sorted = collector.sorted();
    expect(sorted[0]).toBe(1);
    expect(sorted[2999]).toBe(3000);
    expect(sorted.length).toBe(3000);
  });
});
