import { expect, it } from 'vitest';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachStack, type Stack } from '../helpers/stack.ts';

/**
 * Text Postgres cannot store (NUL characters, lone UTF-16 surrogates), bytes that are not UTF-8,
 * and bodies that are not JSON are refused by both synchronous entry points with a 400 naming
 * the field (415 for the content type), before any provider call or telemetry row.
 */

const ENTRY_POINTS = [
  {
    path: '/functions/v1/generate-site',
    body: (text: string) => `{"prompt": "A bakery ${text}"}`,
    field: 'body.prompt',
  },
  {
    path: '/v1/chat/completions',
    body: (text: string) =>
      `{"model": "default", "messages": [{"role": "user", "content": "Hi ${text}"}]}`,
    field: 'body.messages.0.content',
  },
] as const;

async function send(
  stack: Stack,
  path: string,
  body: string | Uint8Array,
  type = 'application/json',
) {
  return stack.app.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token()}`, 'content-type': type },
    body,
  });
}

async function sideEffects(stack: Stack) {
  await stack.services.telemetry.flush();
  const { rows } = await stack.database.db.query<{ n: number }>(
    'select count(*)::int as n from ai_training_examples',
  );
  return { rows: rows[0]!.n, calls: stack.simulator.requests({ method: 'POST' }).length };
}

describeEachStack('text input on the synchronous entry points', (use) => {
  for (const entry of ENTRY_POINTS) {
    it(`${entry.path}: NUL and lone surrogates are a 400 naming ${entry.field}`, async () => {
      const stack = use();
      const before = await sideEffects(stack);
      // JSON escapes, as clients send them: a NUL, a lone high and a lone low surrogate.
      for (const sequence of ['\\u0000', '\\ud800', '\\uDC00']) {
        const response = await send(stack, entry.path, entry.body(sequence));
        const problem = await expectProblem(response, 400, 'validation_failed', {
          field: entry.field,
          code: 'invalid_text',
        });
        expect(problem.errors?.[0]?.field, sequence).toBe(entry.field);
      }
      expect(await sideEffects(stack)).toEqual(before);

      // A valid surrogate pair (an emoji written as escapes) is ordinary text.
      const emoji = await send(stack, entry.path, entry.body('\\ud83d\\ude00'));
      expect(emoji.status).toBe(200);
    });

    it(`${entry.path}: bytes that are not UTF-8 or not JSON are a 400, another content type a 415`, async () => {
      const stack = use();
      const before = await sideEffects(stack);
      const text = new TextEncoder().encode(entry.body('X'));
      const broken = text.map((byte) => (byte === 'X'.charCodeAt(0) ? 0xff : byte));
      await expectProblem(await send(stack, entry.path, broken), 400, 'invalid_utf8');

      const malformed = await send(stack, entry.path, entry.body('x').slice(0, -2));
      await expectProblem(malformed, 400, 'bad_request', { field: 'body', code: 'malformed' });

      const form = await send(
        stack,
        entry.path,
        entry.body('x'),
        'application/x-www-form-urlencoded',
      );
      await expectProblem(form, 415, 'unsupported_media_type');
      expect(await sideEffects(stack)).toEqual(before);
    });
  }

  it('bodies nested deeper than 64 levels are a 400 too_deep; 64 levels are accepted', async () => {
    const stack = use();
    const before = await sideEffects(stack);
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // The body object is one level: `depth` more make 1 + depth.
    const gateway = (depth: number) =>
      `{"model": "default", "messages": [{"role": "user", "content": "hi"}], "metadata_x": ${nested(depth)}}`;
    const tooDeep = { field: 'body', code: 'too_deep' };
    const deep = await send(stack, '/v1/chat/completions', gateway(100_000));
    await expectProblem(deep, 400, 'validation_failed', tooDeep);
    const site = await send(
      stack,
      '/functions/v1/generate-site',
      `{"prompt": "x", "sections": ${nested(65)}}`,
    );
    await expectProblem(site, 400, 'validation_failed', tooDeep);
    expect(await sideEffects(stack)).toEqual(before);

    const overLimit = await send(stack, '/v1/chat/completions', gateway(64));
    await expectProblem(overLimit, 400, 'validation_failed', tooDeep);
    const atLimit = await send(stack, '/v1/chat/completions', gateway(63));
    expect(atLimit.status).toBe(200);
  });
});
