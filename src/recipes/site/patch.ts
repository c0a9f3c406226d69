import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { z } from 'zod';
import { type Site, siteSchema } from './schema.ts';

/** What the model returns in patch mode: an RFC 6902 JSON Patch. */
export const sitePatchSchema = z
  .object({
    operations: z
      .array(
        z
          .object({
            op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
            path: z.string(),
            from: z.string().optional(),
            value: z.unknown().optional(),
          })
          .strict(),
      )
      .min(1)
      .max(200),
  })
  .strict();

export const SITE_PATCH_SCHEMA_NAME = 'genloop_site_patch';

export type PatchOutcome =
  | { ok: true; site: Site; operations: Operation[] }
  | { ok: false; reason: string };

/**
 * Applies a JSON Patch to a copy of `site` (fast-json-patch, with its operation validation) and
 * checks the result is still a valid site. The original is never modified.
 */
export function applySitePatch(site: Site, operations: unknown): PatchOutcome {
  const parsed = sitePatchSchema.safeParse({ operations });
  if (!parsed.success)
    return { ok: false, reason: `not a JSON Patch: ${parsed.error.issues[0]?.message}` };
  const ops = parsed.data.operations as Operation[];
  let patched: unknown;
  try {
    patched = fastJsonPatch.applyPatch(structuredClone(site), ops, true, false).newDocument;
  } catch (error) {
    return {
      ok: false,
      reason: `patch does not apply: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const result = siteSchema.safeParse(patched);
  if (!result.success) {
    const issue = result.error.issues[0];
    return {
      ok: false,
      reason: `patched site is invalid at ${issue?.path.join('.')}: ${issue?.message}`,
    };
  }
  return { ok: true, site: result.data, operations: ops };
}
