import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachInteriorStack, json } from '../interior/stack.ts';

const cursorOf = (text: string) => Buffer.from(text).toString('base64url');
const LISTS = ['/api/ai/generations', '/api/v1/renders'] as const;
const id = '0b6c1f6e-3c51-4a8e-9b1e-2f0a6a0c9d11';

/** Cursors a client can craft that the old decoder let through to Postgres, and worse. */
const CRAFTED = {
  'a bare number as the time': cursorOf(`1|${id}`),
  'February 30th': cursorOf(`2024-02-30T00:00:00Z|${id}`),
  'February 30th in the encoder format': cursorOf(`2024-02-30T00:00:00.000000Z|${id}`),
  'year zero (Postgres has no year 0)': cursorOf(`0000-01-01T00:00:00.000000Z|${id}`),
  'hour 24': cursorOf(`2024-01-01T24:00:00.000000Z|${id}`),
  'a leap second': cursorOf(`2024-06-30T23:59:60.000000Z|${id}`),
  'a time zone offset': cursorOf(`2024-01-01T00:00:00.000000+02:00|${id}`),
  'a local time': cursorOf(`2024-01-01T00:00:00.000000|${id}`),
  'a date only': cursorOf(`2024-01-01|${id}`),
  'a huge year': cursorOf(`+275760-09-13T00:00:00.000000Z|${id}`),
  'no id': cursorOf('2024-01-01T00:00:00.000000Z|'),
  'a malformed id': cursorOf('2024-01-01T00:00:00.000000Z|0b6c1f6e-3c51-4a8e-9b1e-2f0a6a0c9d1'),
  'a third part': cursorOf(`2024-01-01T00:00:00.000000Z|${id}|x`),
  'a NUL byte': cursorOf(`2024-01-01T00:00:00.000000Z\u0000|${id}`),
  'not base64url at all': '%%%',
  'padding after a valid cursor': `${cursorOf(`2024-01-01T00:00:00.000000Z|${id}`)}==`,
  empty: '',
};

describeEachInteriorStack('list cursors are decoded strictly', (use) => {
  for (const path of LISTS) {
    for (const [name, cursor] of Object.entries(CRAFTED)) {
      it(`${path}: ${name} is 400 invalid_cursor naming query.cursor`, async () => {
        const stack = use();
        const token = await stack.token();
        const response = await stack.fetch(`${path}?cursor=${encodeURIComponent(cursor)}`, {
          token,
        });
        await expectProblem(response, 400, 'invalid_cursor', { field: 'query.cursor' });
      });
    }

    it(`${path}: a cursor in the encoder's format pages on`, async () => {
      const stack = use();
      const token = await stack.token();
      const cursor = cursorOf(`2024-02-29T23:59:59.999999Z|${id.toUpperCase()}`);
      const response = await stack.fetch(`${path}?cursor=${cursor}`, { token });
      expect(response.status).toBe(200);
      expect(await json(response)).toEqual({ data: [], next_cursor: null });
    });
  }

  it('GET /api/ai/generations pages through with the cursors it hands out', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await stack.token(userId);
    await stack.database.db.query(
      `insert into public.ai_generations (id, user_id, recipe, status, source_text, created_at, finished_at)
       select gen_random_uuid(), $1, 'flashcards', 'succeeded', repeat('n', 1000),
              now() - make_interval(secs => n), now()
         from generate_series(1, 5) as n`,
      [userId],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await json(await stack.fetch(`/api/ai/generations?limit=2${query}`, { token }));
      seen.push(...page.data.map((row: { id: string }) => row.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });
});
