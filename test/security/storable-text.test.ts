import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachInteriorStack, type InteriorStack, json, submit } from '../interior/stack.ts';

/** A multipart body written byte for byte, so a field can hold bytes FormData would repair. */
function rawMultipart(fields: Record<string, Uint8Array | string>, boundary = 'genloop-test') {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n`),
      Buffer.from(value),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

function postRaw(
  stack: InteriorStack,
  token: string,
  path: string,
  body: Uint8Array | string,
  type: string,
) {
  return stack.fetch(path, {
    method: 'POST',
    token,
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
/** A lone high surrogate as WTF-8 would write it: bytes UTF-8 forbids. */
const LONE_SURROGATE_BYTES = Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]);

describeEachInteriorStack('text fields Postgres cannot store are 400s naming the field', (use) => {
  it.each([
    ['a lone high surrogate', 'a\uD800b'],
    ['a lone low surrogate', 'a\uDC00b'],
    ['a NUL character', 'a\u0000b'],
  ])('interior JSON: %s in the prompt is 400 naming body.prompt', async (_name, prompt) => {
    const stack = use();
    const token = await stack.token();
    const response = await submit(stack, token, { mode: 'imagine', prompt });
    await expectProblem(response, 400, 'validation_failed', {
      field: 'body.prompt',
      code: 'invalid_text',
    });
  });

  it('interior JSON: a lone surrogate in an unknown key is named, not stored', async () => {
    const stack = use();
    const token = await stack.token();
    const response = await postRaw(
      stack,
      token,
      '/api/v1/generations',
      '{"mode":"imagine","prompt":"a loft","x\\ud800":1}',
      'application/json',
    );
    const problem = await expectProblem(response, 400, 'validation_failed');
    expect(problem.errors?.[0]?.code).toBe('invalid_text');
  });

  it('interior JSON: bytes that are not UTF-8 are 400 invalid_utf8', async () => {
    const stack = use();
    const token = await stack.token();
    const body = Buffer.concat([
      utf8('{"mode":"imagine","prompt":"a'),
      Buffer.from([0xff]),
      utf8('"}'),
    ]);
    const response = await postRaw(stack, token, '/api/v1/generations', body, 'application/json');
    await expectProblem(response, 400, 'invalid_utf8', { field: 'body' });
  });

  it.each([
    ['a lone surrogate (WTF-8 bytes)', LONE_SURROGATE_BYTES],
    ['a byte that is not UTF-8', Buffer.from([0x61, 0xff, 0x62])],
    ['a truncated UTF-8 sequence', Buffer.from([0x61, 0xe2, 0x82])],
    ['a NUL byte', Buffer.from([0x61, 0x00, 0x62])],
  ])('interior multipart: %s in the prompt is 400 naming body.prompt', async (_name, prompt) => {
    const stack = use();
    const token = await stack.token();
    const { body, type } = rawMultipart({ mode: 'imagine', prompt });
    const response = await postRaw(stack, token, '/api/v1/generations', body, type);
    await expectProblem(response, 400, 'validation_failed', {
      field: 'body.prompt',
      code: 'invalid_text',
    });
  });

  it('interior multipart: a real U+FFFD in the prompt is accepted as it is', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const { body, type } = rawMultipart({
      mode: 'imagine',
      prompt: utf8('a loft \uFFFD with plants'),
      quality: 'draft',
    });
    const response = await postRaw(stack, token, '/api/v1/generations', body, type);
    expect(response.status, await response.clone().text()).toBe(202);
    const { id } = await json(response);
    const { rows } = await stack.database.db.query<{ prompt: string }>(
      `select input->'fields'->>'prompt' as prompt from public.ai_generations where id = $1`,
      [id],
    );
    expect(rows[0]?.prompt).toBe('a loft \uFFFD with plants');
  });

  it.each([
    ['/functions/v1/generate-site', { prompt: 'a\uD800b' }, 'body.prompt'],
    ['/api/ai/generations', { source_text: `${'x'.repeat(1000)}\uDC00` }, 'body.source_text'],
    [
      '/v1/chat/completions',
      { model: 'default', messages: [{ role: 'user', content: 'hi\uD800' }] },
      'body.messages.0.content',
    ],
  ])('%s answers the same 400 for a lone surrogate', async (path, body, field) => {
    const stack = use();
    const token = await stack.token();
    const response = await postRaw(stack, token, path, JSON.stringify(body), 'application/json');
    await expectProblem(response, 400, 'validation_failed', { field, code: 'invalid_text' });
  });
});
