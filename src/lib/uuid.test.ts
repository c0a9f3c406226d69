import { describe, expect, it } from 'vitest';
import { isUuid, newId } from './uuid.ts';

/** The millisecond a version 7 id carries in its first 48 bits. */
function idTime(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

describe('newId', () => {
  it('mints version 7 UUIDs in canonical form, all distinct across many refills of its pool', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(isUuid(id)).toBe(true);
      expect(id).toBe(id.toLowerCase());
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
  });

  it('carries the time it was minted, so later ids sort after earlier ones', async () => {
    const before = Date.now();
    const first = newId();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newId();
    const after = Date.now();
    expect(idTime(first)).toBeGreaterThanOrEqual(before);
    expect(idTime(second)).toBeLessThanOrEqual(after);
    expect(idTime(second)).toBeGreaterThan(idTime(first));
    expect([second, first].sort()).toEqual([first, second]);
  });

  it('keeps 74 random bits: ids minted in the same millisecond still differ in their tail', () => {
    const ids = Array.from({ length: 1_000 }, () => newId());
    const tails = new Set(ids.map((id) => id.slice(15)));
    expect(tails.size).toBe(ids.length);
  });
});
