import { z } from 'zod';
import { type EvalRecord, MAX_LATENCY_MS } from './record.ts';
import { SCHEMA_VARIANTS } from './variants.ts';

/** The very regex `z.iso.datetime({ offset: true })` in `evalRecordSchema` uses. */
const DATETIME = z.core.regexes.datetime({ offset: true, local: false });
const VARIANTS: ReadonlySet<string> = new Set(SCHEMA_VARIANTS);
// NUL or any surrogate: such strings go to zod, which decides (a valid pair passes there).
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is one of the characters sought.
const SUSPECT_TEXT = /[\u0000\uD800-\uDFFF]/;

/**
 * The accepting half of {@link evalRecordSchema}, written out by hand because zod costs more per
 * line than JSON.parse on small records (measured in bench/eval). It returns the record when it
 * certainly passes the schema, and undefined otherwise — then zod runs, decides, and writes the
 * error message. So the result is always zod's; only the cost differs (see
 * record-fast-path.test.ts). Unknown keys stay on the object; nothing reads them.
 */
export function acceptRecordFast(value: object): EvalRecord | undefined {
  const record = value as Record<string, unknown>;
  const { id, created_at: createdAt, schema_variant: variant, latency_ms: latency } = record;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256 || SUSPECT_TEXT.test(id))
    return undefined;
  if (typeof createdAt !== 'string' || createdAt.startsWith('0000') || !DATETIME.test(createdAt))
    return undefined;
  if (typeof variant !== 'string' || !VARIANTS.has(variant)) return undefined;
  if (
    !isOutcome(record.schema_valid) ||
    !isOutcome(record.patch_apply_success) ||
    !isOutcome(record.edit_after_generate) ||
    !isOutcome(record.publish_conversion) ||
    !isOutcome(record.safety_compliant) ||
    !isOutcome(record.fallback_used)
  ) {
    return undefined;
  }
  if (
    latency !== undefined &&
    latency !== null &&
    !(typeof latency === 'number' && latency >= 0 && latency <= MAX_LATENCY_MS)
  ) {
    return undefined;
  }
  if (
    !isShortText(record.requested_provider) ||
    !isShortText(record.selected_provider) ||
    !isShortText(record.route_strategy)
  ) {
    return undefined;
  }
  return record as EvalRecord;
}

function isOutcome(value: unknown): boolean {
  return value === undefined || value === null || value === true || value === false;
}

function isShortText(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.length <= 64 && !SUSPECT_TEXT.test(value))
  );
}
