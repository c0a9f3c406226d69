import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** A UUID in its canonical text form, either case (Postgres accepts both). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID; checked before a value reaches a `uuid` column or parameter. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

// Random bytes drawn a few kilobytes at a time: asking the system for sixteen bytes per id
// costs microseconds each, and a completing job mints a dozen ids.
const pool = new Uint8Array(16 * 256);
let next = pool.length;

/**
 * A new id for a row genloop writes: a version 7 UUID, whose first 48 bits are the time in
 * milliseconds and the other 74 random. Ids minted close in time sort close together, so a
 * primary key (or any index led by the id) grows at its right edge. Postgres then appends to
 * the rightmost leaf without descending from the root, splits fewer pages, and writes to a few
 * recent pages instead of a random page of the whole index each time (fewer pages to keep
 * cached, fewer full-page images in the WAL after a checkpoint). The time an id carries is no
 * secret: rows show their `created_at`.
 */
export function newId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const random = pool.subarray(next, next + 16);
  next += 16;
  return v7({ random });
}
