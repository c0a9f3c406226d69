import { describe, expect, it } from 'vitest';
import { TokenCache } from './token-cache.ts';

describe('TokenCache', () => {
  it('remembers a token for ttlMs, then forgets it', () => {
    const cache = new TokenCache<string>({ ttlMs: 1_000 });
    cache.set('token', 'alice', Number.POSITIVE_INFINITY, 10_000);
    expect(cache.get('token', 10_999)).toBe('alice');
    expect(cache.get('token', 11_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never keeps a token past its own expiry', () => {
    const cache = new TokenCache<string>({ ttlMs: 60_000 });
    cache.set('token', 'alice', 10_500, 10_000);
    expect(cache.get('token', 10_499)).toBe('alice');
    expect(cache.get('token', 10_500)).toBeUndefined();
    cache.set('expired', 'bob', 9_000, 10_000);
    expect(cache.get('expired', 10_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('ttlMs 0 remembers nothing', () => {
    const cache = new TokenCache<string>({ ttlMs: 0 });
    cache.set('token', 'alice');
    expect(cache.get('token')).toBeUndefined();
  });

  it('drops the oldest entry when full', () => {
    const cache = new TokenCache<number>({ maxEntries: 2 });
    cache.set('a', 1, Number.POSITIVE_INFINITY, 0);
    cache.set('b', 2, Number.POSITIVE_INFINITY, 0);
    cache.set('c', 3, Number.POSITIVE_INFINITY, 0);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('b', 1)).toBe(2);
    expect(cache.get('c', 1)).toBe(3);
  });

  it('refuses bad options when built', () => {
    expect(() => new TokenCache({ ttlMs: -1 })).toThrow(TypeError);
    expect(() => new TokenCache({ maxEntries: 0 })).toThrow(TypeError);
  });
});
