/**
 * Bearer tokens that passed verification, remembered for a short while so that a client sending
 * the same token on every request (an SDK, a service) is not verified again each time. Only
 * successes are kept; an entry never outlives the token's own `exp`, so an expired token is
 * always verified again, and rejected.
 *
 * The cost of the cache is its window: a JWKS key that is withdrawn, or an API key removed from
 * the configuration, keeps working for up to `ttlMs` for tokens already seen. The default is 10 s.
 */
export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor({
    ttlMs = 10_000,
    maxEntries = 10_000,
  }: { ttlMs?: number; maxEntries?: number } = {}) {
    if (!Number.isFinite(ttlMs) || ttlMs < 0) {
      throw new TypeError(`TokenCache: ttlMs must be a number >= 0, got ${ttlMs}`);
    }
    if (!Number.isInteger(maxEntries) || maxEntries <= 0) {
      throw new TypeError(`TokenCache: maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }

  /** The remembered value of `token`, if it was stored less than `ttlMs` ago and is not expired. */
  get(token: string, now: number = Date.now()): T | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Remembers a verified token until `ttlMs` from now or `expiresAtMs` (the token's `exp`),
   * whichever comes first. The oldest entry makes room when the cache is full.
   */
  set(token: string, value: T, expiresAtMs: number = Number.POSITIVE_INFINITY, now = Date.now()) {
    const expiresAt = Math.min(now + this.ttlMs, expiresAtMs);
    if (expiresAt <= now) return;
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { value, expiresAt });
  }

  get size(): number {
    return this.entries.size;
  }
}
