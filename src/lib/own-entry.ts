/**
 * `record[key]` for a key that came from outside (a request's prompt version, a model name):
 * only the record's own entries, never what every object inherits (`valueOf`, `constructor`,
 * `__proto__`), which a plain index would hand back as if it were an entry.
 */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
