import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimestamp } from './iso-time.ts';

describe('isoTimestamp', () => {
  it('is toISOString for any instant, in any order of calls', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
            fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 }),
            fc.integer({ min: 1_796_000_000_000, max: 1_796_000_002_000 }),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        (instants) => {
          for (const ms of instants) expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is now when given nothing', () => {
    const before = Date.now();
    const stamp = Date.parse(isoTimestamp());
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  });
});
