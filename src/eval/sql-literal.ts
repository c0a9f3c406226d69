import { isStorableText } from '../lib/storable-text.ts';

/**
 * SQL literals for scripts meant to be pasted into the Supabase SQL editor or psql, where `$n`
 * parameters do not exist. This is the one place eval values become SQL text.
 *
 * Strings are quoted the way Postgres' own `quote_literal` does: single quotes doubled, and when
 * the text holds a backslash, the `E'...'` form with backslashes doubled, so the literal means
 * the same whatever `standard_conforming_strings` is set to. NUL cannot be stored in Postgres
 * text and is refused.
 *
 * @example
 * sqlLiteral("it's")        // 'it''s'
 * sqlLiteral('C:\\temp')    // E'C:\\\\temp'
 * sqlLiteral(null)          // null
 */
export function sqlLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as an SQL literal`);
    // Always plain decimal digits (no exponent), parenthesised when negative so `- -1` cannot occur.
    const text =
      Number.isInteger(value) && Math.abs(value) < 1e21 ? value.toFixed(0) : String(value);
    return value < 0 ? `(${text})` : text;
  }
  if (!isStorableText(value)) {
    throw new TypeError('an SQL string literal cannot hold NUL or a lone UTF-16 surrogate');
  }
  const quoted = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** A jsonb literal: the JSON text as a string literal, cast. */
export function sqlJsonb(value: unknown): string {
  return `${sqlLiteral(JSON.stringify(value))}::jsonb`;
}
