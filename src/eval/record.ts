import { z } from 'zod';
import { isStorableText } from '../lib/storable-text.ts';
import { SCHEMA_VARIANTS } from './variants.ts';

/** Largest latency that fits the `integer` columns it is stored in. */
export const MAX_LATENCY_MS = 2_147_483_647;

/**
 * Text that Postgres can store: no NUL character and no lone UTF-16 surrogate (which would be
 * silently replaced on the way to the database, so the stored row would differ from the record).
 */
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine(isStorableText, 'must not contain NUL characters or lone UTF-16 surrogates');

const outcome = z.boolean().nullable().optional();

/**
 * One line of an eval JSONL file (an `EvalRecord`: the quality outcomes plus the optional routing
 * fields).
 *
 * - `output`: the generated JSON or HTML; schema validity and (for sitecraft) HTML/Tailwind
 *   safety are computed from it when the record does not carry them.
 * - The five outcomes are booleans or null. An explicit boolean wins over a computed one; null
 *   (or absent, with nothing to compute from) means not observed, and leaves the record out of
 *   that metric's denominator.
 * - `latency_ms` is rounded to whole milliseconds (what `ai_eval_samples.latency_ms` stores).
 * - Keys not listed here are ignored.
 *
 * @example
 * {"id":"r1","created_at":"2026-02-15T10:00:00Z","schema_variant":"sitecraft","output":{...},
 *  "publish_conversion":true,"fallback_used":false,"latency_ms":840,"selected_provider":"openai",
 *  "route_strategy":"weighted"}
 */
export const evalRecordSchema = z.object({
  id: text(256).min(1, 'must be a non-empty string'),
  created_at: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 timestamp with Z or an offset' })
    .refine((value) => !value.startsWith('0000'), 'year must be 0001 or later'),
  schema_variant: z.enum(SCHEMA_VARIANTS, {
    message: `must be one of ${SCHEMA_VARIANTS.join(', ')}`,
  }),
  output: z.unknown().optional(),
  schema_valid: outcome,
  patch_apply_success: outcome,
  edit_after_generate: outcome,
  publish_conversion: outcome,
  safety_compliant: outcome,
  fallback_used: outcome,
  latency_ms: z
    .number({ message: 'must be a number of milliseconds or null' })
    .min(0, 'must be >= 0')
    .max(MAX_LATENCY_MS, `must be <= ${MAX_LATENCY_MS}`)
    .nullable()
    .optional(),
  requested_provider: text(64).nullable().optional(),
  selected_provider: text(64).nullable().optional(),
  route_strategy: text(64).nullable().optional(),
});

export type EvalRecord = z.infer<typeof evalRecordSchema>;
