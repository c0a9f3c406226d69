import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { expectProblem } from '../helpers/errors.ts';
import { photo } from '../interior/fixtures.ts';
import { describeEachInteriorStack, form, type InteriorStack, json } from '../interior/stack.ts';

function post(
  stack: InteriorStack,
  path: string,
  token: string,
  key: string,
  body: string | FormData,
) {
  return stack.fetch(path, {
    method: 'POST',
    token,
    headers:
      typeof body === 'string'
        ? { 'content-type': 'application/json', 'idempotency-key': key }
        : { 'idempotency-key': key },
    body,
  });
}

const SOURCE_TEXT = 'Mitochondria make most of the cell energy as ATP. '.repeat(25);

/** Each idempotent route, a body as JSON text, and the same request written differently. */
const JSON_ROUTES = [
  {
    path: '/api/ai/generations',
    idOf: (body: Record<string, string>) => body.generation_id,
    first: JSON.stringify({ source_text: SOURCE_TEXT, prompt_version: 'v1' }),
    same: `{\n  "prompt_version" : "v1",\n\t"source_text":${JSON.stringify(SOURCE_TEXT)}\n}\n`,
    other: JSON.stringify({ source_text: SOURCE_TEXT, prompt_version: 'v2' }),
  },
  {
    path: '/api/v1/generations',
    idOf: (body: Record<string, string>) => body.id,
    first: JSON.stringify({ mode: 'imagine', prompt: 'a loft', quality: 'draft', variants: 2 }),
    same: '{ "variants": 2.0, "quality": "draft",\r\n "prompt": "a l\\u006fft", "mode": "imagine" }',
    other: JSON.stringify({ mode: 'imagine', prompt: 'a loft', quality: 'draft', variants: 1 }),
  },
] as const;

async function jobsWithKey(stack: InteriorStack, key: string): Promise<number> {
  const { rows } = await stack.database.db.query(
    'select 1 from public.ai_generations where idempotency_key = $1',
    [key],
  );
  return rows.length;
}

describeEachInteriorStack('Idempotency-Key fingerprints the parsed request', (use) => {
  for (const route of JSON_ROUTES) {
    it(`${route.path}: the same JSON with other whitespace, escapes and key order replays`, async () => {
      const stack = use();
      const token = await stack.token();
      const key = randomUUID();
      const first = await post(stack, route.path, token, key, route.first);
      expect(first.status, await first.clone().text()).toBe(202);
      const again = await post(stack, route.path, token, key, route.same);
      expect(again.status, await again.clone().text()).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(route.idOf(await json(again))).toBe(route.idOf(await json(first)));
      expect(await jobsWithKey(stack, key)).toBe(1);
    });

    it(`${route.path}: another body under the same key is still 422`, async () => {
      const stack = use();
      const token = await stack.token();
      const key = randomUUID();
      expect((await post(stack, route.path, token, key, route.first)).status).toBe(202);
      await expectProblem(
        await post(stack, route.path, token, key, route.other),
        422,
        'idempotency_key_reused',
      );
      expect(await jobsWithKey(stack, key)).toBe(1);
    });

    it(`${route.path}: another user's same key is independent`, async () => {
      const stack = use();
      const key = randomUUID();
      const mine = await post(stack, route.path, await stack.token(), key, route.first);
      const theirs = await post(stack, route.path, await stack.token(), key, route.same);
      expect(mine.status).toBe(202);
      expect(theirs.status).toBe(202);
      expect(theirs.headers.get('idempotent-replayed')).toBeNull();
      expect(route.idOf(await json(theirs))).not.toBe(route.idOf(await json(mine)));
    });
  }

  it('/api/ai/generations: the same key at once is one 202 and one 409 (or its replay)', async () => {
    const stack = use();
    const token = await stack.token();
    const key = randomUUID();
    const [first] = JSON_ROUTES;
    const statuses = (
      await Promise.all([
        post(stack, first.path, token, key, first.first),
        post(stack, first.path, token, key, first.same),
      ])
    )
      .map((response) => response.status)
      .sort();
    expect(statuses[0]).toBe(202);
    expect([202, 409]).toContain(statuses[1]);
    expect(await jobsWithKey(stack, key)).toBe(1);
  });

  it('/api/v1/generations: the same multipart form with a new boundary replays', async () => {
    const stack = use();
    const token = await stack.token();
    const key = randomUUID();
    const image = await photo();
    const fields = { mode: 'redesign', style: 'modern', quality: 'draft' };
    const first = await post(stack, '/api/v1/generations', token, key, form(fields, [image]));
    expect(first.status, await first.clone().text()).toBe(202);
    // A new FormData gets a new random boundary; the text fields also come in another order.
    const reordered = { quality: 'draft', style: 'modern', mode: 'redesign' };
    const again = await post(stack, '/api/v1/generations', token, key, form(reordered, [image]));
    expect(again.status, await again.clone().text()).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(again)).id).toBe((await json(first)).id);
    expect(await jobsWithKey(stack, key)).toBe(1);
  });

  it('/api/v1/generations: the same form with other image bytes, or other fields, is 422', async () => {
    const stack = use();
    const token = await stack.token();
    const key = randomUUID();
    const fields = { mode: 'redesign', style: 'modern', quality: 'draft' };
    const first = await post(
      stack,
      '/api/v1/generations',
      token,
      key,
      form(fields, [await photo()]),
    );
    expect(first.status, await first.clone().text()).toBe(202);
    const otherImage = form(fields, [await photo('jpeg', 320, 200)]);
    await expectProblem(
      await post(stack, '/api/v1/generations', token, key, otherImage),
      422,
      'idempotency_key_reused',
    );
    const otherStyle = form({ ...fields, style: 'rustic' }, [await photo()]);
    await expectProblem(
      await post(stack, '/api/v1/generations', token, key, otherStyle),
      422,
      'idempotency_key_reused',
    );
    expect(await jobsWithKey(stack, key)).toBe(1);
  });

  it('a refused request keeps no key: the same key with the body fixed goes through', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const key = randomUUID();
    const [flashcards] = JSON_ROUTES;
    await expectProblem(
      await post(stack, flashcards.path, token, key, '{"source_text":"too short"}'),
      400,
      'validation_failed',
    );
    const { rows } = await stack.database.db.query(
      'select 1 from public.idempotency_keys where user_id = $1',
      [userId],
    );
    expect(rows).toHaveLength(0);
    const fixed = await post(stack, flashcards.path, token, key, flashcards.first);
    expect(fixed.status, await fixed.clone().text()).toBe(202);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a GET that carries an Idempotency-Key is answered fresh, never from the store', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const key = randomUUID();
    const list = () =>
      stack.fetch('/api/ai/generations', { token, headers: { 'idempotency-key': key } });
    expect((await json(await list())).data).toEqual([]);
    const created = await post(
      stack,
      '/api/ai/generations',
      token,
      randomUUID(),
      JSON_ROUTES[0].first,
    );
    expect(created.status).toBe(202);
    const second = await list();
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect((await json(second)).data).toHaveLength(1);
  });
});
