import { z } from 'zod';
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
