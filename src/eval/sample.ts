import { checkHtmlSafety } from './html-safety.ts';
import type { EvalRecord } from './record.ts';
import { isValidOutput, type SchemaVariant, sitecraftHtml } from './variants.ts';

/**
 * One judged record: the outcomes that count (explicit, else computed from the output, else
 * null = not observed) and the routing fields. It is also one `ai_eval_samples` row.
 */
export interface EvalSample {
  record_id: string;
  record_created_at: string;
  schema_valid: boolean | null;
  patch_apply_success: boolean | null;
  edit_after_generate: boolean | null;
  publish_conversion: boolean | null;
  safety_compliant: boolean | null;
  fallback_used: boolean | null;
  /** Whole milliseconds. */
  latency_ms: number | null;
  requested_provider: string | null;
  selected_provider: string | null;
  route_strategy: string | null;
  /** Why a computed outcome is false, for `ai_eval_samples.metadata`; empty when none. */
  notes: SampleNotes;
}

export interface SampleNotes {
  schema_invalid?: true;
  safety_violation?: string;
}

/**
 * Judges one record for a run of `variant`:
 * - `schema_valid`: the record's boolean, else whether `output` matches the variant's schema
 *   (null without output);
 * - `safety_compliant`: the record's boolean, else for sitecraft whether every section's HTML is
 *   safe (null when the output holds no HTML, and for the other variants);
 * - the product outcomes and routing fields as given (absent = null).
 */
export function judgeRecord(record: EvalRecord, variant: SchemaVariant): EvalSample {
  const notes: SampleNotes = {};
  const hasOutput = record.output !== undefined && record.output !== null;

  let schemaValid = record.schema_valid ?? null;
  if (schemaValid === null && hasOutput) {
    schemaValid = isValidOutput(variant, record.output);
    if (!schemaValid) notes.schema_invalid = true;
  }

  let safetyCompliant = record.safety_compliant ?? null;
  if (safetyCompliant === null && hasOutput && variant === 'sitecraft') {
    const fragments = sitecraftHtml(record.output);
    if (fragments !== undefined) {
      safetyCompliant = true;
      for (const html of fragments) {
        const verdict = checkHtmlSafety(html);
        if (!verdict.compliant) {
          safetyCompliant = false;
          notes.safety_violation = verdict.reason;
          break;
        }
      }
    }
  }

  return {
    record_id: record.id,
    record_created_at: record.created_at,
    schema_valid: schemaValid,
    patch_apply_success: record.patch_apply_success ?? null,
    edit_after_generate: record.edit_after_generate ?? null,
    publish_conversion: record.publish_conversion ?? null,
    safety_compliant: safetyCompliant,
    fallback_used: record.fallback_used ?? null,
    latency_ms:
      record.latency_ms === undefined || record.latency_ms === null
        ? null
        : Math.round(record.latency_ms),
    requested_provider: record.requested_provider ?? null,
    selected_provider: record.selected_provider ?? null,
    route_strategy: record.route_strategy ?? null,
    notes,
  };
}
