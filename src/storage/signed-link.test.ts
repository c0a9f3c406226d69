import { describe, expect, it } from 'vitest';
import { signLink, verifyLink } from './signed-link.ts';

const key = 'k'.repeat(43);
const now = Date.UTC(2026, 1, 15);
const expires = Math.floor(now / 1000) + 60;

describe('local signed links', () => {
  it('verifies its own signature until it expires', () => {
    const signature = signLink(key, 'uploads', 'u/g/input-1.jpg', expires);
    expect(verifyLink(key, 'uploads', 'u/g/input-1.jpg', String(expires), signature, now)).toBe(
      true,
    );
    expect(
      verifyLink(key, 'uploads', 'u/g/input-1.jpg', String(expires), signature, now + 61_000),
    ).toBe(false);
  });

  it('refuses another path, bucket, expiry or key', () => {
    const signature = signLink(key, 'uploads', 'u/g/input-1.jpg', expires);
    expect(verifyLink(key, 'uploads', 'u/g/input-2.jpg', String(expires), signature, now)).toBe(
      false,
    );
    expect(verifyLink(key, 'renders', 'u/g/input-1.jpg', String(expires), signature, now)).toBe(
      false,
    );
    expect(verifyLink(key, 'uploads', 'u/g/input-1.jpg', String(expires + 1), signature, now)).toBe(
      false,
    );
    expect(
      verifyLink(`${key}x`, 'uploads', 'u/g/input-1.jpg', String(expires), signature, now),
    ).toBe(false);
  });

  it('refuses missing or malformed parameters', () => {
    expect(verifyLink(key, 'uploads', 'p', undefined, 'sig', now)).toBe(false);
    expect(verifyLink(key, 'uploads', 'p', String(expires), undefined, now)).toBe(false);
    expect(verifyLink(key, 'uploads', 'p', 'tomorrow', 'sig', now)).toBe(false);
  });
});
