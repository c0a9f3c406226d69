import { notFound } from '../lib/domain-errors.ts';
import { isUuid } from '../lib/uuid.ts';

/**
 * The id of a path parameter, lower-cased, or a 404 for `what`: a value that is not a UUID
 * names nothing, and answering 404 (not 400) keeps probing for ids pointless.
 */
export function uuidOr404(value: string, what: string): string {
  if (!isUuid(value)) throw notFound(what);
  return value.toLowerCase();
}

/** A database row as the API documents it: dates as ISO strings, everything else as it is. */
export function serialise<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Date ? value.toISOString() : value;
  }
  return out as T;
}
