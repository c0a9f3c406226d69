import { createHash } from 'node:crypto';

/** A 32-bit unsigned hash of a string (the first four bytes of its SHA-256). */
export function hashString(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/**
 * A deterministic pseudo-random generator (mulberry32) seeded from a string: the same seed
 * always yields the same sequence, which is what keeps the simulator's outputs reproducible.
 */
export function seededRandom(seed: string | number): () => number {
  let state = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One item of a non-empty list, chosen by `random`. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** A random-looking id (not deterministic: ids must differ between identical requests). */
export function randomId(
  length: number,
  alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789',
): string {
  let id = '';
  for (let index = 0; index < length; index += 1) {
    id += alphabet[Math.floor(Math.random() * alphabet.length)];
  }
  return id;
}
