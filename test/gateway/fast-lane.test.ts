import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Lane } from '../../src/http/lane.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { describeEachStack, eventually } from '../helpers/stack.ts';

const API_KEY = 'gl_test_key_that_is_long_enough_0123456789';
const PATH = '/v1/chat/completions';

/** Headers whose values depend on the moment or the connection, not on the answer. */
const VARYING = new Set(['date', 'server-timing', 'keep-alive', 'connection', 'content-length']);

interface Sent {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * Sends raw bytes, so that a malformed body, a missing or false content type, or a chunked
 * upload reach the server as written (fetch would correct some of them).
 */
function send(
  server: RunningServer,
  {
    headers = {},
    body,
    chunked = false,
    path = PATH,
  }: { headers?: Record<string, string>; body?: string; chunked?: boolean; path?: string },
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${server.url}${path}`,
      {
        method: 'POST',
        headers: {
          ...headers,
          ...(chunked || body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: response.statusCode ?? 0, headers: flat, text });
        });
      },
    );
    request.on('error', reject);
    if (chunked && body !== undefined) {
      // Two pieces, so the body really arrives in chunks of a length nobody announced.
      request.write(body.slice(0, body.length >> 1));
      request.end(body.slice(body.length >> 1));
    } else request.end(body);
  });
}

/** The answer without what varies between two sends of the same request. */
function comparable(sent: Sent): {
  status: number;
  headers: Record<string, string>;
  body: unknown;
} {
  const headers = Object.fromEntries(
    Object.entries(sent.headers).filter(([name]) => !VARYING.has(name)),
  );
  const type = headers['content-type'] ?? '';
  let body: unknown = sent.text;
  if (type.includes('json')) body = withoutCallIds(JSON.parse(sent.text));
  if (type === 'text/event-stream') {
    body = sent.text
      .split('\n\n')
      .map((event) =>
        event.startsWith('data: {') ? withoutCallIds(JSON.parse(event.slice(6))) : event,
      );
  }
  return { status: sent.status, headers, body };
}

/** A completion's (or chunk's) own id and creation time are the provider's, new on every call. */
function withoutCallIds(value: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...value };
  for (const key of ['id', 'created']) if (key in copy) copy[key] = typeof copy[key];
  return copy;
}

describeEachStack(
  'the fast lane answers POST /v1/chat/completions exactly as the Hono route does',
  (use) => {
    let lane: RunningServer;
    let hono: RunningServer;
    let taken = 0;

    beforeAll(async () => {
      const stack = use();
      const [own] = stack.app.lanes;
      expect(own).toBeDefined();
      const counted: Lane = (request, response) => {
        const took = own!(request, response);
        if (took) taken++;
        return took;
      };
      lane = await startServer(
        { fetch: stack.app.fetch, lanes: [counted] },
        { host: '127.0.0.1', port: 0 },
      );
      hono = await startServer({ fetch: stack.app.fetch }, { host: '127.0.0.1', port: 0 });
    });
    afterAll(async () => {
      await lane?.close();
      await hono?.close();
    });

    /** Sends the request to both servers, with one request id, and expects the same answer. */
    async function same(
      request: Parameters<typeof send>[1],
      expectedStatus?: number,
    ): Promise<Sent> {
      const headers = { 'x-request-id': randomUUID(), ...request.headers };
      const before = taken;
      const viaLane = await send(lane, { ...request, headers });
      expect(taken, 'the lane took the request').toBe(before + 1);
      const viaHono = await send(hono, { ...request, headers });
      if (expectedStatus !== undefined) expect(viaLane.status).toBe(expectedStatus);
      expect(comparable(viaLane)).toEqual(comparable(viaHono));
      return viaLane;
    }

    const json = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
    const hello = JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'hi' }] });

    it('a completion: the same status, headers and body, with the security headers', async () => {
      const sent = await same({ headers: json, body: hello }, 200);
      expect(sent.headers).toMatchObject({
        'content-type': 'application/json',
        'x-genloop-selected-provider': 'openai',
        'x-genloop-route-strategy': 'fallback',
        'x-content-type-options': 'nosniff',
        'cross-origin-resource-policy': 'same-origin',
      });
      expect(sent.headers['server-timing']).toMatch(/^provider;dur=[\d.]+, gateway;dur=/);
      expect(JSON.parse(sent.text)).toMatchObject({ object: 'chat.completion' });
    });

    it('a user token, a stream, a fallback, a pinned model and a cache header', async () => {
      const user = { ...json, authorization: `Bearer ${await use().token()}` };
      await same({ headers: user, body: hello }, 200);
      const stream = await same(
        {
          headers: { ...user, 'x-genloop-simulate': 'openai=error:503' },
          body: JSON.stringify({
            model: 'default',
            stream: true,
            messages: [{ role: 'user', content: 'a short poem' }],
          }),
        },
        200,
      );
      expect(stream.headers).toMatchObject({
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-genloop-fallback-used': 'true',
      });
      const events = stream.text.split('\n\n').filter(Boolean);
      expect(events.every((event) => event.startsWith('data: '))).toBe(true);
      expect(events.at(-1)).toBe('data: [DONE]');
      await same(
        {
          headers: json,
          body: JSON.stringify({
            model: 'custom/llama-3',
            messages: [{ role: 'user', content: 'x' }],
          }),
        },
        200,
      );
    });

    it('refusals: each with the same problem document, OpenAI error object and headers', async () => {
      const limit = use().config.jsonLimitBytes;
      const oversized = JSON.stringify({
        model: 'default',
        messages: [{ role: 'user', content: 'x'.repeat(limit) }],
      });
      const cases: Array<[string, Parameters<typeof send>[1], number, string]> = [
        [
          'no token',
          { headers: { 'content-type': 'application/json' }, body: hello },
          401,
          'missing_token',
        ],
        [
          'a false token',
          { headers: { ...json, authorization: 'Bearer nope' }, body: hello },
          401,
          'invalid_token',
        ],
        [
          'plain text',
          { headers: { ...json, 'content-type': 'text/plain' }, body: hello },
          415,
          'unsupported_media_type',
        ],
        [
          'no content type',
          { headers: { authorization: json.authorization }, body: hello },
          415,
          'unsupported_media_type',
        ],
        ['an empty body', { headers: json, body: '' }, 400, 'empty_body'],
        ['malformed JSON', { headers: json, body: '{"model": "default",' }, 400, 'bad_request'],
        [
          'too deep',
          { headers: json, body: `${'['.repeat(80)}${']'.repeat(80)}` },
          400,
          'validation_failed',
        ],
        [
          'a NUL character',
          {
            headers: json,
            body: '{"model":"default","messages":[{"role":"user","content":"a\\u0000b"}]}',
          },
          400,
          'validation_failed',
        ],
        [
          'a bad temperature',
          {
            headers: json,
            body: JSON.stringify({
              model: 'default',
              temperature: 3,
              messages: [{ role: 'user', content: 'x' }],
            }),
          },
          400,
          'validation_failed',
        ],
        ['no messages', { headers: json, body: '{"model":"default"}' }, 400, 'validation_failed'],
        [
          'an unknown model',
          {
            headers: json,
            body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
          },
          400,
          'unknown_model',
        ],
        [
          'a bad cache header',
          { headers: { ...json, 'x-genloop-cache': 'sometimes' }, body: hello },
          400,
          'validation_failed',
        ],
        ['a body over the limit', { headers: json, body: oversized }, 413, 'payload_too_large'],
        [
          'a chunked body over the limit',
          { headers: json, body: oversized, chunked: true },
          413,
          'payload_too_large',
        ],
        [
          'all providers failing',
          {
            headers: {
              ...json,
              'x-genloop-simulate': 'openai=error:500;custom=error:500;openrouter=error:500',
            },
            body: hello,
          },
          502,
          'all_providers_failed',
        ],
      ];
      for (const [name, request, status, code] of cases) {
        const sent = await same(request, status).catch((error: Error) => {
          throw new Error(`${name}: ${error.message}`);
        });
        const problem = JSON.parse(sent.text) as { code: string; error: { code: string } };
        expect(sent.headers['content-type'], name).toBe('application/problem+json');
        expect(problem.code, name).toBe(code);
        expect(problem.error.code, name).toBe(code);
      }
    });

    it('any body, content type, token and cache header: the same answer from both, never a 500', async () => {
      const field = fc.constantFrom(
        'model',
        'messages',
        'temperature',
        'top_p',
        'n',
        'max_tokens',
        'stop',
        'stream',
        'stream_options',
        'seed',
        'user',
        'tools',
      );
      const valid = { model: 'default', messages: [{ role: 'user', content: 'x' }] };
      const body = fc.oneof(
        fc.jsonValue().map((value) => JSON.stringify(value)),
        fc.dictionary(field, fc.jsonValue()).map((extra) => JSON.stringify({ ...valid, ...extra })),
        fc.string(),
      );
      const contentType = fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json ; charset=utf-8',
        'application/vnd.api+json',
        'text/plain',
      );
      // Header values whose answer does not depend on what an earlier request left behind (an
      // exact or semantic cache header would make the second server's answer a hit).
      const authorization = fc.constantFrom(json.authorization, 'Bearer nope', 'Basic abc', '');
      const cacheHeader = fc.constantFrom(undefined, 'off', 'sometimes', 'exact; bogus');
      await fc.assert(
        fc.asyncProperty(
          body,
          contentType,
          authorization,
          cacheHeader,
          async (text, type, bearer, cache) => {
            const headers: Record<string, string> = { 'content-type': type };
            if (bearer !== '') headers.authorization = bearer;
            if (cache !== undefined) headers['x-genloop-cache'] = cache;
            const sent = await same({ headers, body: text });
            expect(sent.status).toBeLessThan(500);
          },
        ),
        { numRuns: 80 },
      );
    });

    it('shares the response cache with the Hono route: a miss on one is a hit on the other', async () => {
      const cached = { ...json, 'x-genloop-cache': 'exact' };
      const body = JSON.stringify({
        model: 'default',
        messages: [{ role: 'user', content: `remember ${randomUUID()}` }],
      });
      const first = await send(lane, { headers: cached, body });
      expect(first.headers['x-genloop-cache']).toBe('miss');
      await use().services.telemetry.flush();
      const again = await eventually(async () => {
        const sent = await send(hono, { headers: cached, body });
        return sent.headers['x-genloop-cache'] === 'hit' ? sent : undefined;
      });
      expect(JSON.parse(again.text).choices).toEqual(JSON.parse(first.text).choices);
      const fromLane = await send(lane, { headers: cached, body });
      expect(fromLane.headers['x-genloop-cache']).toBe('hit');
      expect(fromLane.headers['server-timing']).toMatch(/^cache;dur=[\d.]+, provider;dur=0.0/);
    });

    it('the request id: a uuid is kept (lower-cased), anything else replaced', async () => {
      const id = randomUUID().toUpperCase();
      const kept = await send(lane, { headers: { ...json, 'x-request-id': id }, body: hello });
      expect(kept.headers['x-request-id']).toBe(id.toLowerCase());
      const replaced = await send(lane, {
        headers: { ...json, 'x-request-id': 'not-a-uuid' },
        body: hello,
      });
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('leaves other paths, methods and query strings to Hono', async () => {
      const before = taken;
      const query = await send(lane, { headers: json, body: hello, path: `${PATH}?trace=1` });
      expect(query.status).toBe(200);
      const models = await fetch(`${lane.url}/v1/models`, {
        headers: { authorization: json.authorization },
      });
      expect(models.status).toBe(200);
      expect(taken).toBe(before);
    });

    it('counts its answers in the HTTP metrics under the route, as Hono does', async () => {
      const { metrics } = use().services;
      const count = async (status: string) =>
        (await metrics.httpRequests.get()).values.find(
          (value) =>
            value.labels.route === PATH &&
            value.labels.status === status &&
            value.labels.method === 'POST',
        )?.value ?? 0;
      const ok = await count('200');
      const refused = await count('401');
      await send(lane, { headers: json, body: hello });
      await send(lane, { headers: { 'content-type': 'application/json' }, body: hello });
      expect(await count('200')).toBe(ok + 1);
      expect(await count('401')).toBe(refused + 1);
    });

    it('a client that leaves during the provider call: one aborted attempt, no fallback, no cooldown', async () => {
      const stack = use();
      const failures = async () =>
        (
          await stack.database.db.query<{ provider: string; consecutive_failures: number }>(
            'select provider, consecutive_failures from ai_provider_health order by provider',
          )
        ).rows;
      for (const server of [lane, hono]) {
        const before = await failures();
        const requestId = randomUUID();
        await new Promise<void>((resolve) => {
          const request = httpRequest(`${server.url}${PATH}`, {
            method: 'POST',
            headers: {
              ...json,
              'x-request-id': requestId,
              // Whichever provider the route tries first (an earlier test may have cooled one).
              'x-genloop-simulate': 'openai=slow:400;custom=slow:400;openrouter=slow:400',
              'content-length': String(Buffer.byteLength(hello)),
            },
          });
          request.on('error', () => resolve());
          request.end(hello);
          setTimeout(() => {
            request.destroy();
            resolve();
          }, 100);
        });
        const attempts = await eventually(async () => {
          const { rows } = await stack.database.db.query<{
            provider: string;
            status: string;
            error_class: string | null;
            message: string;
          }>(
            `select provider, status, error_class, error->>'message' as message from ai_provider_attempts
              where request_id = $1 order by attempt_no`,
            [requestId],
          );
          return rows.length > 0 ? rows : undefined;
        });
        expect(attempts, server === lane ? 'fast lane' : 'Hono').toEqual([
          {
            provider: expect.any(String),
            status: 'aborted',
            error_class: 'canceled',
            message: 'call canceled',
          },
        ]);
        // Nothing counted toward any provider's cooldown.
        expect(await failures()).toEqual(before);
      }
    });

    it('a client that leaves while sending its body gets no answer and breaks nothing', async () => {
      await new Promise<void>((resolve) => {
        const request = httpRequest(`${lane.url}${PATH}`, {
          method: 'POST',
          headers: { ...json, 'content-length': '1000' },
        });
        request.on('error', () => resolve());
        request.write('{"model":');
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 50);
      });
      const after = await send(lane, { headers: json, body: hello });
      expect(after.status).toBe(200);
    });
  },
  { GENLOOP_API_KEYS: API_KEY },
);
