const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
/**
 * In JSON text: the escape of a NUL or of any UTF-16 surrogate. Valid UTF-8 cannot carry either
 * raw (a NUL must be escaped in a JSON string; a lone surrogate cannot be encoded), so JSON
 * without a match holds only storable strings. A match can be a false alarm (a valid pair, or an
 * escaped backslash before `u0000`); the slow checks below decide.
 */
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * True when Postgres can store `value` as text unchanged: no NUL character and no lone UTF-16
 * surrogate (which UTF-8 cannot encode, so it would be replaced on the way to the database).
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/**
 * True when `value`, a text field that a form decoder read out of `body`, was valid UTF-8 there.
 * Form decoders replace bytes that are not UTF-8 (a lone surrogate written as WTF-8, say) with
 * U+FFFD instead of failing; a value holding U+FFFD whose UTF-8 encoding occurs nowhere in the
 * body is such a repair. (Should another part happen to hold the repaired text, the value is
 * let through, and what is stored is that storable text.)
 */
export function wasUtf8In(value: string, body: Uint8Array): boolean {
  if (!value.includes('\uFFFD')) return true;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes(value, 0, 'utf8');
}

/** `value` with every NUL and lone surrogate replaced by U+FFFD, the replacement character. */
export function toStorableText(value: string): string {
  return value.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}

/**
 * The path (`['messages', '0', 'content']`) of the first string in a JSON value, key or value,
 * that Postgres cannot store; undefined when there is none.
 */
export function findUnstorableText(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableText(key)) return [...path, toStorableText(key)];
    const found = findUnstorableText(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * `JSON.stringify(value)` for a jsonb parameter: strings Postgres cannot store have their NUL
 * characters and lone surrogates replaced by U+FFFD, so that one odd character never costs a
 * whole row. Values without such strings (nearly all) are serialised once, as they are.
 */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (!mayHoldUnstorableText(json)) return json;
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'string') return isStorableText(item) ? item : toStorableText(item);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const entries = Object.entries(item);
    if (entries.every(([key]) => isStorableText(key))) return item;
    return Object.fromEntries(entries.map(([key, entry]) => [toStorableText(key), entry]));
  });
}

/**
 * True when JSON text may hold a string Postgres cannot store (see {@link SUSPECT_ESCAPE}). A
 * plain substring search settles nearly every call before the regular expression runs: most JSON
 * has no `\u` escape at all (JSON.stringify writes them only for control characters and lone
 * surrogates).
 */
export function mayHoldUnstorableText(json: string): boolean {
  return json.includes('\\u') && SUSPECT_ESCAPE.test(json);
}
