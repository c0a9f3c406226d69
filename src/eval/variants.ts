import { z } from 'zod';
import { flashcardSchema, flashcardsOutputSchema } from '../recipes/flashcards/schema.ts';
import { siteSchema } from '../recipes/site/schema.ts';

/** The product flows `genloop eval` knows how to judge (`--schema-variant`). */
export const SCHEMA_VARIANTS = ['sitecraft', 'flashcards', 'interior', 'generic'] as const;

export type SchemaVariant = (typeof SCHEMA_VARIANTS)[number];

/** The recipe that writes each variant's rows in `ai_training_examples`. */
export const RECIPE_VARIANTS: Readonly<Record<string, SchemaVariant>> = {
  site: 'sitecraft',
  flashcards: 'flashcards',
  interior: 'interior',
  gateway: 'generic',
};

/**
 * The site recipe's patch-mode telemetry stores `{ site, operations }`; the site inside is
 * what is judged.
 */
const sitePatchOutputSchema = z.object({ site: z.unknown(), operations: z.array(z.unknown()) });

/** Flashcards: `{ cards: [...] }` (what the recipe asks for) or a bare array of cards. */
const flashcardArraySchema = z.array(flashcardSchema).min(1).max(50);

/** Interior: 1 to 4 rendered variants, each with an http(s) URL to the image. */
export const interiorOutputSchema = z.object({
  variants: z
    .array(
      z.looseObject({
        url: z.url({ protocol: /^https?$/ }),
      }),
    )
    .min(1)
    .max(4),
});

/**
 * Whether `output` is a valid output of `variant`:
 * - sitecraft: the site JSON of `siteSchema` (title, sections of `{ id, type, html }`), or the
 *   `{ site, operations }` a patch writes;
 * - flashcards: `{ cards: [{ front, back }] }` or `[{ front, back }]`, 1 to 50 non-empty cards;
 * - interior: `{ variants: [{ url, ... }] }` with 1 to 4 variants;
 * - generic: any JSON value.
 *
 * A string output is parsed as JSON first (models answer with JSON text); a string that is not
 * JSON is not a valid output of sitecraft, flashcards or interior.
 */
export function isValidOutput(variant: SchemaVariant, output: unknown): boolean {
  if (variant === 'generic') return true;
  const value = typeof output === 'string' ? parseJsonText(output) : output;
  if (value === undefined) return false;
  switch (variant) {
    case 'sitecraft': {
      const patch = isPatchShaped(value) ? sitePatchOutputSchema.safeParse(value) : undefined;
      return siteSchema.safeParse(patch?.success ? patch.data.site : value).success;
    }
    case 'flashcards':
      return Array.isArray(value)
        ? flashcardArraySchema.safeParse(value).success
        : flashcardsOutputSchema.safeParse(value).success;
    case 'interior':
      return interiorOutputSchema.safeParse(value).success;
  }
}

/**
 * The HTML of a sitecraft output that the safety metric judges: the `html` of every section
 * (also when the site is otherwise invalid), or the output itself when it is HTML text.
 * Undefined when the output holds no HTML.
 */
export function sitecraftHtml(output: unknown): string[] | undefined {
  let value: unknown = output;
  if (typeof value === 'string') {
    const parsed = parseJsonText(value);
    if (parsed === undefined) return [value];
    value = parsed;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const site = isPatchShaped(value) ? value.site : value;
  if (site === null || typeof site !== 'object' || !('sections' in site)) return undefined;
  const sections = site.sections;
  if (!Array.isArray(sections)) return undefined;
  const html: string[] = [];
  for (const section of sections) {
    if (section !== null && typeof section === 'object' && typeof section.html === 'string') {
      html.push(section.html);
    }
  }
  return html.length > 0 ? html : undefined;
}

/** Has the keys of a patch-mode output (checked before zod, whose failures are costly). */
function isPatchShaped(value: unknown): value is { site: unknown; operations: unknown } {
  return value !== null && typeof value === 'object' && 'site' in value && 'operations' in value;
}

function parseJsonText(text: string): unknown {
  const trimmed = text.trimStart();
  if (trimmed[0] !== '{' && trimmed[0] !== '[') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
