import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { asService } from '../db/context.ts';
import type { Db } from '../db/types.ts';
import type { EvalRecord } from './record.ts';
import { RECIPE_VARIANTS, type SchemaVariant } from './variants.ts';

export interface ExportOptions {
  /** Window: rows created in the last `days` days (fractions allowed). */
  days: number;
  /** At most this many rows, newest first. */
  limit: number;
  output: string;
  /** Only rows of this variant's recipe; all variants when absent. */
  schemaVariant?: SchemaVariant | undefined;
  /** Rows read per query (keyset pages keep memory flat). */
  pageSize?: number;
}

export interface ExportResult {
  count: number;
  byVariant: Partial<Record<SchemaVariant, number>>;
}

interface TrainingRow {
  id: string;
  created_at: Date | string;
  /** created_at as text, with the microseconds a JS Date would drop (the keyset cursor). */
  cursor_created_at: string;
  recipe: string | null;
  output: unknown;
  status: string | null;
  request_id: string | null;
  generation_id: string | null;
  schema_valid: boolean | null;
  patch_apply_success: boolean | null;
  edit_after_generate: boolean | null;
  publish_conversion: boolean | null;
  safety_compliant: boolean | null;
  fallback_used: boolean | null;
  latency_ms: number | null;
  requested_provider: string | null;
  selected_provider: string | null;
  route_strategy: string | null;
}

/** A row's variant: by its recipe (site → sitecraft, gateway → generic); Phase 1 rows are sitecraft. */
export function variantOfRecipe(recipe: string | null): SchemaVariant {
  return recipe === null ? 'sitecraft' : (RECIPE_VARIANTS[recipe] ?? 'generic');
}

/**
 * Exports recent generations from `ai_training_examples` (source `generation` or
 * `generation_cached`, created in the window, newest first, up to `limit`) as EvalRecord JSONL:
 * the output, the outcome columns (including the late signals the product posts to
 * `/api/v1/generations/:id/outcomes`) and the routing fields. Extra keys (`request_id`,
 * `generation_id`, `status`, `recipe`) help trace a record back; `eval run` ignores them.
 *
 * The file is written to a temporary path and renamed when complete.
 */
export async function exportEvalRecords(db: Db, options: ExportOptions): Promise<ExportResult> {
  const pageSize = options.pageSize ?? 500;
  const recipes =
    options.schemaVariant === undefined
      ? null
      : Object.entries(RECIPE_VARIANTS)
          .filter(([, variant]) => variant === options.schemaVariant)
          .map(([recipe]) => recipe);
  const includeNullRecipe =
    options.schemaVariant === undefined || options.schemaVariant === 'sitecraft';

  await mkdir(dirname(options.output), { recursive: true });
  const temporary = `${options.output}.${process.pid}.partial`;
  const stream = createWriteStream(temporary, { encoding: 'utf8' });
  const result: ExportResult = { count: 0, byVariant: {} };
  try {
    await once(stream, 'open');
    let cursor: { createdAt: string; id: string } | undefined;
    while (result.count < options.limit) {
      const take = Math.min(pageSize, options.limit - result.count);
      const { rows } = await asService(db, (tx) =>
        tx.query<TrainingRow>(
          `select id, created_at, created_at::text as cursor_created_at, recipe, output, status, request_id, generation_id,
                  schema_valid, patch_apply_success, edit_after_generate, publish_conversion,
                  safety_compliant, fallback_used, latency_ms, requested_provider,
                  selected_provider, route_strategy
             from public.ai_training_examples
            where source in ('generation', 'generation_cached')
              and created_at >= now() - $1::double precision * interval '1 day'
              and ($2::text[] is null or recipe = any($2::text[]) or ($3 and recipe is null))
              and ($4::timestamptz is null or (created_at, id) < ($4::timestamptz, $5::uuid))
            order by created_at desc, id desc
            limit $6`,
          [
            options.days,
            recipes,
            includeNullRecipe,
            cursor?.createdAt ?? null,
            cursor?.id ?? null,
            take,
          ],
        ),
      );
      for (const row of rows) {
        const record = toEvalRecord(row);
        result.count++;
        result.byVariant[record.schema_variant] =
          (result.byVariant[record.schema_variant] ?? 0) + 1;
        if (!stream.write(`${JSON.stringify(record)}\n`)) await once(stream, 'drain');
      }
      if (rows.length < take) break;
      const last = rows[rows.length - 1]!;
      cursor = { createdAt: last.cursor_created_at, id: last.id };
    }
    stream.end();
    await once(stream, 'finish');
    await rename(temporary, options.output);
    return result;
  } catch (error) {
    stream.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * What `genloop eval export` prints: the count per variant and, when the file mixes variants,
 * how to go on (`eval run` evaluates one variant per run, as each has its own metrics).
 */
export function describeExport(result: ExportResult, output: string): string {
  const variants = Object.entries(result.byVariant);
  const perVariant = variants.map(([variant, count]) => `${variant} ${count}`).join(', ');
  let text = `exported ${result.count} record(s) to ${output}${perVariant ? ` (${perVariant})` : ''}\n`;
  if (variants.length > 1) {
    const names = variants.map(([variant]) => variant).join('|');
    text += `the file mixes ${variants.length} schema variants and eval run takes one: export again with --schema-variant ${names}\n`;
  }
  return text;
}

/** One training row as an eval record (plus tracing keys the record schema ignores). */
export function toEvalRecord(
  row: Omit<TrainingRow, 'cursor_created_at'>,
): EvalRecord & Record<string, unknown> {
  const createdAt = row.created_at instanceof Date ? row.created_at : new Date(row.created_at);
  return {
    id: row.id,
    created_at: createdAt.toISOString(),
    schema_variant: variantOfRecipe(row.recipe),
    ...(row.output === null || row.output === undefined ? {} : { output: row.output }),
    schema_valid: row.schema_valid,
    patch_apply_success: row.patch_apply_success,
    edit_after_generate: row.edit_after_generate,
    publish_conversion: row.publish_conversion,
    safety_compliant: row.safety_compliant,
    fallback_used: row.fallback_used,
    latency_ms: row.latency_ms,
    requested_provider: row.requested_provider,
    selected_provider: row.selected_provider,
    route_strategy: row.route_strategy,
    request_id: row.request_id,
    generation_id: row.generation_id,
    status: row.status,
    recipe: row.recipe,
  };
}
