import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeEachInteriorStack, type InteriorStack } from '../interior/stack.ts';

const FIELD = /^(body|query|header|path)(\.|$)/;

/**
 * Expects anything but a server error: a success, or a problem document with a stable code whose
 * field errors each name their place in the request.
 */
async function expectNoServerError(response: Response, what: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${what}: ${text}`).toBeLessThan(500);
  if (response.status < 400) return;
  expect(response.headers.get('content-type'), what).toContain('application/problem+json');
  const problem = JSON.parse(text) as { code?: unknown; errors?: { field: string }[] };
  expect(problem.code, what).toEqual(expect.any(String));
  for (const error of problem.errors ?? []) expect(error.field, what).toMatch(FIELD);
}

/** Strings as hostile clients write them: any code point, plus NUL, lone surrogates and U+FFFD. */
const hostileString = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\uFFFD', '"', '\\', '|'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});
const hostileNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53 + 1, 2 ** 31, -(2 ** 31) - 1, 0.5),
);
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/**
 * Bodies of any shape, and a valid body with some of its fields (or new ones) given hostile
 * values, so that a hostile value also reaches the code behind the validators.
 */
function hostileBody(route: { fields: readonly string[]; valid: Record<string, unknown> }) {
  const overrides = fc.dictionary(fc.constantFrom(...route.fields), hostileValue, {
    minKeys: 1,
    maxKeys: 2,
  });
  return fc.oneof(
    hostileValue,
    overrides,
    overrides.map((fields) => ({ ...route.valid, ...fields })),
  );
}

const JSON_ROUTES = [
  {
    path: '/api/ai/generations',
    fields: ['source_text', 'model', 'prompt_version'],
    valid: { source_text: 'Photosynthesis turns light into sugar. '.repeat(30) },
  },
  {
    path: '/api/v1/generations',
    fields: [
      'mode',
      'prompt',
      'style',
      'room_type',
      'aspect_ratio',
      'quality',
      'variants',
      'upload_ids',
    ],
    valid: { mode: 'imagine', prompt: 'a loft', quality: 'draft' },
  },
  {
    path: '/functions/v1/generate-site',
    fields: ['prompt', 'provider', 'mode', 'site', 'business_name', 'tone', 'sections', 'language'],
    valid: { prompt: 'A bakery' },
  },
  {
    path: '/v1/chat/completions',
    fields: [
      'model',
      'messages',
      'stream',
      'temperature',
      'n',
      'max_tokens',
      'stop',
      'seed',
      'user',
    ],
    valid: { model: 'default', messages: [{ role: 'user', content: 'hi' }] },
  },
] as const;

/** JSON text: NUL and lone surrogates stay escapes, as a client's serialiser writes them. */
const toJson = (value: unknown) => JSON.stringify(value) ?? 'null';

function send(
  stack: InteriorStack,
  token: string,
  path: string,
  init: { method?: string; body?: string | FormData; headers?: Record<string, string> } = {},
) {
  return stack.fetch(path, { method: init.method ?? 'GET', token, ...init });
}

describeEachInteriorStack('hostile input is a 4xx problem, never a 500', (use) => {
  for (const route of JSON_ROUTES) {
    it(`${route.path}: JSON bodies of any shape and type`, async () => {
      const stack = use();
      const token = await stack.token();
      await fc.assert(
        fc.asyncProperty(hostileBody(route), async (body) => {
          const response = await send(stack, token, route.path, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-genloop-simulate': 'openai=refuse' },
            body: toJson(body),
          });
          await expectNoServerError(response, `${route.path} ${toJson(body)}`);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('/api/v1/generations: multipart forms with any field names and values', async () => {
    const stack = use();
    const token = await stack.token();
    const name = fc.oneof(fc.constantFrom(...JSON_ROUTES[1].fields, 'images'), hostileString);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(name, hostileString), { maxLength: 6 }), async (parts) => {
        const form = new FormData();
        for (const [key, value] of parts) form.append(key, value);
        const response = await send(stack, token, '/api/v1/generations', {
          method: 'POST',
          body: form,
        });
        await expectNoServerError(response, `multipart ${JSON.stringify(parts)}`);
      }),
      { numRuns: 40 },
    );
  });

  it('/api/v1/generations: a multipart field named __proto__ is refused by name', async () => {
    const stack = use();
    const token = await stack.token();
    const form = new FormData();
    form.append('mode', 'imagine');
    form.append('prompt', 'a loft');
    form.append('__proto__', 'x');
    const response = await send(stack, token, '/api/v1/generations', {
      method: 'POST',
      body: form,
    });
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((error) => error.field)).toContain('body.__proto__');
  });

  it('/api/v1/generations: a form of thousands of parts is refused before any is looked at', async () => {
    const stack = use();
    const token = await stack.token();
    const form = new FormData();
    form.append('mode', 'imagine');
    for (let index = 0; index < 5_000; index++) form.append(`x${index}`, '\uFFFD');
    for (let index = 0; index < 5_000; index++) form.append('images', 'not a file');
    const response = await send(stack, token, '/api/v1/generations', {
      method: 'POST',
      body: form,
    });
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { errors: { field: string; code: string }[] };
    expect(problem.errors).toEqual([
      expect.objectContaining({ field: 'body', code: 'too_many_parts' }),
    ]);
  });

  it('list queries: any cursor, limit and filters', async () => {
    const stack = use();
    const token = await stack.token();
    const paths = fc.constantFrom('/api/ai/generations', '/api/v1/renders', '/api/ai/suggestions');
    const names = fc.constantFrom(
      'cursor',
      'limit',
      'mode',
      'style',
      'room_type',
      'generation_id',
      'status',
    );
    await fc.assert(
      fc.asyncProperty(
        paths,
        fc.array(fc.tuple(names, hostileString), { maxLength: 4 }),
        async (path, pairs) => {
          const query = new URLSearchParams();
          for (const [key, value] of pairs) query.append(key, value);
          const response = await send(stack, token, `${path}?${query}`);
          await expectNoServerError(response, `${path}?${query}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each([
    ['limit', '1e400'],
    ['limit', '-0'],
    ['limit', '0x10'],
    ['limit', '9007199254740993'],
    ['limit', ' 5 '],
    ['generation_id', '00000000-0000-0000-0000-00000000000g'],
    ['generation_id', '{00000000-0000-0000-0000-000000000000}'],
    ['mode', 'IMAGINE'],
  ])('list queries: %s=%j', async (name, value) => {
    const stack = use();
    const token = await stack.token();
    for (const path of ['/api/ai/generations', '/api/v1/renders']) {
      const response = await send(stack, token, `${path}?${name}=${encodeURIComponent(value)}`);
      await expectNoServerError(response, `${path} ${name}`);
    }
  });

  it('a cursor too long to be one of ours is 400 invalid_cursor', async () => {
    const stack = use();
    const token = await stack.token();
    for (const path of ['/api/ai/generations', '/api/v1/renders']) {
      const response = await send(stack, token, `${path}?cursor=${'A'.repeat(10_000)}`);
      expect(response.status).toBe(400);
      const problem = (await response.json()) as { code: string; errors: { field: string }[] };
      expect(problem.code).toBe('invalid_cursor');
      expect(problem.errors[0]?.field).toBe('query.cursor');
    }
  });

  it('path ids that are not uuids, on every route that takes one', async () => {
    const stack = use();
    const token = await stack.token();
    const ids = [
      '%00',
      '%ED%A0%80',
      '%FF',
      'x'.repeat(2_000),
      `${randomUUID()}x`,
      '..%2F..%2Fetc',
      '-1',
      '1e400',
    ];
    const routes: [string, string][] = [
      ['GET', '/api/ai/generations/:id'],
      ['POST', '/api/ai/generations/:id/cancel'],
      ['PATCH', '/api/ai/suggestions/:id'],
      ['POST', '/api/ai/suggestions/:id/accept'],
      ['POST', '/api/ai/suggestions/:id/reject'],
      ['GET', '/api/v1/renders/:id'],
      ['DELETE', '/api/v1/renders/:id'],
      ['GET', '/api/v1/generations/:id'],
      ['POST', '/api/v1/generations/:id/cancel'],
    ];
    for (const [method, template] of routes) {
      for (const id of ids) {
        const response = await send(stack, token, template.replace(':id', id), {
          method,
          ...(method === 'PATCH'
            ? { headers: { 'content-type': 'application/json' }, body: '{"front":"x"}' }
            : {}),
        });
        await expectNoServerError(response, `${method} ${template} ${id}`);
      }
    }
  });

  it('odd headers on the write routes', async () => {
    const stack = use();
    const token = await stack.token();
    const headerSets: Record<string, string>[] = [
      { 'content-type': 'application/json; charset=latin1' },
      { 'content-type': 'application/json; charset' },
      { 'content-type': 'application/problem+json' },
      { 'content-type': 'multipart/form-data' },
      { 'content-type': 'multipart/form-data; boundary=' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-type': 'text/plain' },
      { 'content-type': '' },
      { 'content-type': 'application/json', 'idempotency-key': 'é' },
      { 'content-type': 'application/json', 'idempotency-key': 'x'.repeat(256) },
      {
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        'x-request-id': 'not-a-uuid',
      },
      { 'content-type': 'application/json', 'x-request-id': `${randomUUID()}, ${randomUUID()}` },
      { 'content-type': 'application/json', 'x-genloop-simulate': 'openai=explode;;==' },
      { 'content-type': 'application/json', 'x-genloop-simulate': 'ÿ'.repeat(4_000) },
    ];
    for (const route of JSON_ROUTES) {
      for (const headers of headerSets) {
        for (const body of ['{"mode":"imagine","prompt":"a loft"}', '', '\u00ff']) {
          const response = await send(stack, token, route.path, { method: 'POST', headers, body });
          await expectNoServerError(response, `${route.path} ${JSON.stringify(headers)} ${body}`);
        }
      }
    }
  });
});
