import { z } from 'zod';
import type { FieldError } from '../../lib/domain-errors.ts';
import { isStorableText } from '../../lib/storable-text.ts';
import {
  ASPECT_RATIOS,
  MAX_PROMPT_LENGTH,
  MAX_VARIANTS,
  MODE_RULES,
  MODES,
  QUALITIES,
  ROOM_TYPE_NAMES,
  type RoomType,
  STYLE_NAMES,
  type Style,
} from './catalog.ts';

/**
 * The fields of `POST /api/v1/generations` (JSON and multipart alike; multipart values arrive
 * as strings, so `variants` is coerced). Unknown fields are refused so a typo is not ignored.
 */
export const interiorFieldsSchema = z
  .object({
    mode: z.enum(MODES),
    prompt: z
      .string()
      .trim()
      .min(1, 'must not be blank')
      .max(MAX_PROMPT_LENGTH)
      .refine(isStorableText, 'must not contain NUL characters or lone UTF-16 surrogates')
      .optional(),
    style: z.enum(STYLE_NAMES as [Style, ...Style[]]).optional(),
    room_type: z.enum(ROOM_TYPE_NAMES as [RoomType, ...RoomType[]]).optional(),
    aspect_ratio: z.enum(ASPECT_RATIOS).default('1:1'),
    quality: z.enum(QUALITIES).default('standard'),
    variants: z.coerce.number().int().min(1).max(MAX_VARIANTS).default(1),
  })
  .strict();

export type InteriorFields = z.infer<typeof interiorFieldsSchema>;

/** The JSON form: the same fields plus the ids of earlier uploads to reuse. */
export const interiorJsonSchema = interiorFieldsSchema
  .extend({ upload_ids: z.array(z.string().uuid()).max(4).default([]) })
  .strict();

/**
 * The cross-field rules of a mode: how many images it takes and which fields it requires.
 * `imageField` names where the images came from (`body.images` or `body.upload_ids`).
 */
export function modeFieldErrors(
  fields: InteriorFields,
  imageCount: number,
  imageField: string,
): FieldError[] {
  const rule = MODE_RULES[fields.mode];
  const errors: FieldError[] = [];
  if (imageCount < rule.minImages || imageCount > rule.maxImages) {
    const wanted =
      rule.maxImages === 0
        ? 'takes no images'
        : rule.minImages === rule.maxImages
          ? `needs exactly ${rule.minImages} image`
          : `needs ${rule.minImages} to ${rule.maxImages} images`;
    errors.push({
      field: imageField,
      code: 'image_count',
      message: `mode ${fields.mode} ${wanted}; got ${imageCount}`,
    });
  }
  for (const name of rule.requires) {
    if (fields[name] === undefined) {
      errors.push({
        field: `body.${name}`,
        code: 'required',
        message: `mode ${fields.mode} needs ${name}`,
      });
    }
  }
  return errors;
}

/**
 * What an interior job keeps in `ai_generations.input`: the validated request, the stored input
 * photos, the prompt built at submit (so the template version of the accepted request is the
 * one that runs), and where the provider should call back and fetch the photos from.
 */
export const interiorJobInputSchema = z.object({
  fields: interiorFieldsSchema.required({
    aspect_ratio: true,
    quality: true,
    variants: true,
  }),
  images: z.array(z.object({ upload_id: z.string().uuid(), path: z.string() })).max(4),
  prompt: z.string().min(1),
  negative_prompt: z.string(),
  webhook_url: z.string().url(),
  /** Base URL of genloop's own links (local storage driver). */
  links_base_url: z.string().url(),
  /** The `x-genloop-simulate` header of the request, for the simulator only. */
  simulate: z.string().max(500).optional(),
});

export type InteriorJobInput = z.infer<typeof interiorJobInputSchema>;
