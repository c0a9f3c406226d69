import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flashcardsOutputSchema } from './schema.ts';

describe('flashcards output schema', () => {
  it('accepts ordinary cards and refuses text Postgres cannot store', () => {
    expect(
      flashcardsOutputSchema.safeParse({ cards: [{ front: 'Q 😀', back: 'A' }] }).success,
    ).toBe(true);
    for (const text of ['a\u0000b', 'x\uD800y']) {
      const front = flashcardsOutputSchema.safeParse({ cards: [{ front: text, back: 'A' }] });
      const back = flashcardsOutputSchema.safeParse({ cards: [{ front: 'Q', back: text }] });
      expect(front.success).toBe(false);
      expect(back.success).toBe(false);
      expect(front.error?.issues[0]?.path).toEqual(['cards', 0, 'front']);
    }
  });

  it('the JSON Schema sent to providers keeps its plain string bounds', () => {
    const schema = z.toJSONSchema(flashcardsOutputSchema, { io: 'input' }) as unknown as {
      properties: { cards: { items: { properties: Record<string, unknown> } } };
    };
    expect(schema.properties.cards.items.properties.front).toEqual({
      type: 'string',
      minLength: 1,
      maxLength: 2000,
    });
  });
});
