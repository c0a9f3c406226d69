import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff.ts';

describe('backoffDelay', () => {
  it('stays within [0, min(cap, base * 2^retry)) — full jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (retry, random) => {
          const delay = backoffDelay(retry, undefined, {
            baseMs: 100,
            capMs: 2_000,
            random: () => random,
          });
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(2_000, 100 * 2 ** retry));
        },
      ),
    );
  });

  it('never retries earlier than Retry-After', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 60_000 }),
        (retry, retryAfter) => {
          expect(backoffDelay(retry, retryAfter, { random: () => 0.5 })).toBeGreaterThanOrEqual(
            retryAfter,
          );
        },
      ),
    );
  });
});

describe('sleep', () => {
  it('rejects with the abort reason when the signal fires', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort(new Error('caller left'));
    await expect(pending).rejects.toThrow('caller left');
  });
});
