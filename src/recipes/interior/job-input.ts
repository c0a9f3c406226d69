import { z } from 'zod';
import { interiorFieldsSchema } from './schema.ts';

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
