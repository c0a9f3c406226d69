import { z } from 'zod';

/** One flashcard proposed by the model. */
export const flashcardSchema = z
  .object({
    front: z.string().trim().min(1).max(2_000),
    back: z.string().trim().min(1).max(5_000),
  })
  .strict();

/** What the flashcard recipe asks the model for (an object root, as structured outputs need). */
export const flashcardsOutputSchema = z
  .object({ cards: z.array(flashcardSchema).min(1).max(50) })
  .strict();

export type Flashcard = z.infer<typeof flashcardSchema>;

/** The name genloop gives this schema in `response_format.json_schema` requests. */
export const FLASHCARDS_SCHEMA_NAME = 'genloop_flashcards';
