import { z } from '@hono/zod-openapi';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** `CreateAIGenerationCommand` of seed 004: the body of `POST /api/ai/generations`. */
export const createAIGenerationCommandSchema = z
  .object({
    source_text: z
      .string()
      .min(1000, 'source_text must be at least 1000 characters')
      .max(10000, 'source_text must be at most 10000 characters')
      .refine((text) => !text.includes('\u0000'), 'source_text must not contain NUL bytes')
      .refine((text) => !CONTROL_CHARACTERS.test(text), 'source_text must be text, not binary data')
      .refine(
        (text) => !/[\uD800-\uDFFF]/.test(text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')),
        {
          message: 'source_text must be valid Unicode',
        },
      ),
    model: z.string().trim().min(1).max(200).optional(),
    prompt_version: z.string().trim().min(1).max(100).optional(),
  })
  .strict()
  .openapi('CreateAIGenerationCommand');

export type CreateAIGenerationCommand = z.infer<typeof createAIGenerationCommandSchema>;
