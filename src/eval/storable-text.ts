const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when Postgres can store `value` as text unchanged: no NUL character and no lone UTF-16
 * surrogate (which UTF-8 cannot encode, so it would be replaced on the way to the database).
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}
