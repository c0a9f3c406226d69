/** A UUID in its canonical text form, either case (Postgres accepts both). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a UUID; checked before a value reaches a `uuid` column or parameter. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
