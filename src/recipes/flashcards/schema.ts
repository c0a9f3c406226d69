import { z } from '@hono/zod-openapi';
import { isStorableText } from '../../lib/storable-text.ts';

/** Card text, storable by Postgres: a model's stray NUL fails validation, not the job's commit. */
const cardText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(isStorableText, 'must not contain NUL characters or lone UTF-16 surrogates');

/** One flashcard proposed by the model. */
export const flashcardSchema = z
  .object({
    front: cardText(2_000),
    back: cardText(5_000),
  })
  .strict();

/** What the flashcard recipe asks the model for (an object root, as structured outputs need). */
export const flashcardsOutputSchema = z
  .object({ cards: z.array(flashcardSchema).min(1).max(50) })
  .strict();

export type Flashcard = z.infer<typeof flashcardSchema>;

/** The name genloop gives this schema in `response_format.json_schema` requests. */
export const FLASHCARDS_SCHEMA_NAME = 'genloop_flashcards';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** `CreateAIGenerationCommand`: the body of `POST /api/ai/generations`. */
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

// The API's answers (OpenAPI components).
const GenerationStatus = z.enum([
  'pending',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'timed_out',
]);
export const AcceptedSchema = z
  .object({ generation_id: z.string().uuid(), status: z.literal('pending') })
  .openapi('CreateAIGenerationAccepted');
export const GenerationSchema = z
  .object({
    id: z.string().uuid(),
    status: GenerationStatus,
    model: z.string().nullable(),
    prompt_version: z.string().nullable(),
    tokens_input: z.number().int().nullable(),
    tokens_output: z.number().int().nullable(),
    cost_usd: z.number().nullable(),
    error: z.unknown().nullable(),
    ai_metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('AIGeneration');
export const SuggestionSchema = z
  .object({
    id: z.string().uuid(),
    generation_id: z.string().uuid(),
    position: z.number().int(),
    front: z.string(),
    back: z.string(),
    status: z.enum(['proposed', 'accepted', 'rejected']),
    edited: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('AISuggestion');
export const CardSchema = z
  .object({
    id: z.string().uuid(),
    front: z.string(),
    back: z.string(),
    source: z.string(),
    suggestion_id: z.string().uuid().nullable(),
    generation_id: z.string().uuid().nullable(),
    created_at: z.string(),
  })
  .openapi('Card');
