import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { CORS_ALLOW_HEADERS } from '../../src/http/middleware/cors/index.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { variantPath } from '../../src/storage/paths.ts';
import { TEST_JWT_SECRET, testToken } from '../helpers/stack.ts';
import { photo } from '../interior/fixtures.ts';
import { describeEachInteriorStack, form, type InteriorStack, submit } from '../interior/stack.ts';

/**
 * The HTTP settings that protect genloop from oversized bodies, foreign tokens, browsers on other
 * origins and curious scrapers. One interior stack per driver (the upload route is where JSON and
 * photo limits meet); the CORS and metrics variants are further apps built in-process on its parts.
 */

const JSON_LIMIT = 4096;
const GENERAL_LIMIT = 8192;
const APP_ORIGIN = 'https://app.example.com';
const METRICS_TOKEN = 'metrics-scrape-token-0123456789abcdef';
const SOURCE_TEXT = 'Photosynthesis turns light into chemical energy in plants. '.repeat(25);
const logger = createLogger({ logLevel: 'silent' });
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'genloop-security-'));
afterAll(() => rmSync(CONFIG_DIR, { recursive: true, force: true }));

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;
const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Another app on the stack's database, services and interior flow, with settings of its own. */
function appWith(stack: InteriorStack, env: Record<string, string>): App {
  const config = resolveConfig({
    env: {
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'on',
      GENLOOP_JSON_LIMIT_BYTES: String(JSON_LIMIT),
      GENLOOP_BODY_LIMIT_BYTES: String(GENERAL_LIMIT),
      ...env,
    },
    cwd: CONFIG_DIR,
  });
  return createApp({
    config,
    db: stack.database.db,
    logger,
    services: stack.services,
    interior: stack.interior,
  });
}

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as { code: string; status: number };
  expect(body.status).toBe(response.status);
  return body;
}

function expectSecurityHeaders(
  response: Response,
  csp = STRICT_CSP,
  resourcePolicy = 'same-origin',
) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(response.headers.get(name), name).toBe(value);
  }
  expect(response.headers.get('content-security-policy')).toBe(csp);
  expect(response.headers.get('cross-origin-resource-policy')).toBe(resourcePolicy);
}

/**
 * POSTs headers announcing `declaredBytes` and only the first 64 KiB of the body, then waits for
 * the answer: a server that answers has decided without buffering the body it never received.
 */
function postHeadersOnly(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  declaredBytes: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no answer to a ${declaredBytes}-byte body that was never sent`));
    }, 5_000);
    const request = httpRequest(new URL(path, baseUrl), {
      method: 'POST',
      headers: { ...headers, 'content-length': String(declaredBytes) },
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
      });
    });
    // The socket is torn down once the answer is in; errors after that are expected.
    request.on('error', () => {});
    request.write(Buffer.alloc(64 * 1024, 0x20));
  });
}

describeEachInteriorStack(
  'HTTP security settings',
  (use) => {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    // -----------------------------------------------------------------------------------------
    // Body limits: JSON is held to GENLOOP_JSON_LIMIT_BYTES everywhere, the upload route included.
    // -----------------------------------------------------------------------------------------

    it('a JSON body over GENLOOP_JSON_LIMIT_BYTES sent to the upload route is 413 payload_too_large', async () => {
      const stack = use();
      const response = await submit(stack, await stack.token(), {
        mode: 'imagine',
        prompt: 'x'.repeat(JSON_LIMIT * 4),
      });
      expect(response.status).toBe(413);
      expect((await problemOf(response)).code).toBe('payload_too_large');
    });

    it('four concurrent 40 MB JSON posts to the upload route are refused from their headers, before any body is buffered', async () => {
      const stack = use();
      const token = await stack.token();
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          postHeadersOnly(
            stack.server.url,
            '/api/v1/generations',
            { ...bearer(token), 'content-type': 'application/json' },
            40 * 1024 * 1024,
          ),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(413);
        expect(JSON.parse(answer.body)).toMatchObject({ code: 'payload_too_large' });
      }
    });

    it('a chunked JSON body to the upload route is cut off at the JSON limit while it streams', async () => {
      const stack = use();
      const app = appWith(stack, {});
      const chunk = new TextEncoder().encode(`"${'y'.repeat(1022)}",`);
      const total = 40 * 1024 * 1024;
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= total) {
            controller.close();
            return;
          }
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const init = {
        method: 'POST',
        headers: { ...bearer(await stack.token()), 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit;
      const response = await app.request('/api/v1/generations', init);
      expect(response.status).toBe(413);
      expect((await problemOf(response)).code).toBe('payload_too_large');
      expect(pulled).toBeLessThan(JSON_LIMIT + 16 * chunk.length);
    });

    it('a JSON body over the limit is refused on every other route too, +json types included', async () => {
      const stack = use();
      const body = JSON.stringify({ source_text: 'z'.repeat(JSON_LIMIT) });
      for (const type of ['application/json', 'application/merge-patch+json; charset=utf-8']) {
        const response = await stack.fetch('/api/ai/generations', {
          method: 'POST',
          token: await stack.token(),
          headers: { 'content-type': type },
          body,
        });
        expect(response.status).toBe(413);
        expect((await problemOf(response)).code).toBe('payload_too_large');
      }
    });

    it('photos sent as multipart to the upload route keep the larger upload limit', async () => {
      const stack = use();
      const image = await photo('png', 640, 480);
      expect(image.length).toBeGreaterThan(GENERAL_LIMIT);
      const response = await submit(
        stack,
        await stack.token(),
        form({ mode: 'redesign', style: 'modern' }, [image]),
      );
      expect(response.status).toBe(202);
    });

    it('other bodies keep the general limit: between the two limits only JSON is refused', async () => {
      const stack = use();
      const size = Math.floor((JSON_LIMIT + GENERAL_LIMIT) / 2);
      const text = await stack.fetch('/api/v1/generations', {
        method: 'POST',
        token: await stack.token(),
        headers: { 'content-type': 'text/plain' },
        body: 'x'.repeat(size),
      });
      expect(text.status).toBe(415);
      const json = await stack.fetch('/api/v1/generations', {
        method: 'POST',
        token: await stack.token(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'imagine', prompt: 'x'.repeat(size) }),
      });
      expect(json.status).toBe(413);
      const large = await stack.fetch('/api/v1/generations', {
        method: 'POST',
        token: await stack.token(),
        headers: { 'content-type': 'text/plain' },
        body: 'x'.repeat(GENERAL_LIMIT + 1),
      });
      expect(large.status).toBe(413);
      expect((await problemOf(large)).code).toBe('payload_too_large');
    });

    // -----------------------------------------------------------------------------------------
    // Service-role tokens on user routes act as the user in `sub`, under row-level security.
    // -----------------------------------------------------------------------------------------

    it("a service_role token for user B cannot read, list or cancel user A's flashcard generation", async () => {
      const stack = use();
      const userA = randomUUID();
      const userB = randomUUID();
      const created = await stack.fetch('/api/ai/generations', {
        method: 'POST',
        token: await testToken(userA),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source_text: SOURCE_TEXT }),
      });
      expect(created.status).toBe(202);
      const { generation_id: id } = (await created.json()) as { generation_id: string };

      const serviceB = await testToken(userB, 'service_role');
      const read = await stack.fetch(`/api/ai/generations/${id}`, { token: serviceB });
      expect(read.status).toBe(404);
      expect((await problemOf(read)).code).toBe('not_found');
      const list = await stack.fetch('/api/ai/generations', { token: serviceB });
      expect(list.status).toBe(200);
      const page = (await list.json()) as { data: { id: string }[] };
      expect(page.data.map((row) => row.id)).not.toContain(id);
      const cancel = await stack.fetch(`/api/ai/generations/${id}/cancel`, {
        method: 'POST',
        token: serviceB,
      });
      expect(cancel.status).toBe(404);

      // The owner still reads it, with either kind of token.
      for (const token of [await testToken(userA), await testToken(userA, 'service_role')]) {
        const own = await stack.fetch(`/api/ai/generations/${id}`, { token });
        expect(own.status).toBe(200);
        expect(((await own.json()) as { id: string }).id).toBe(id);
      }
    });

    it("a service_role token for user B cannot read user A's interior generation", async () => {
      const stack = use();
      const userA = randomUUID();
      const created = await submit(
        stack,
        await testToken(userA),
        form({ mode: 'redesign', style: 'modern' }, [await photo()]),
      );
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      const read = await stack.fetch(`/api/v1/generations/${id}`, {
        token: await testToken(randomUUID(), 'service_role'),
      });
      expect(read.status).toBe(404);
      const own = await stack.fetch(`/api/v1/generations/${id}`, { token: await testToken(userA) });
      expect(own.status).toBe(200);
    });

    // -----------------------------------------------------------------------------------------
    // Security headers on every answer.
    // -----------------------------------------------------------------------------------------

    it('every kind of answer carries the security headers and the strict policy', async () => {
      const stack = use();
      const token = await stack.token();
      const answers: [string, Response][] = [
        ['healthz', await stack.fetch('/healthz')],
        ['openapi', await stack.fetch('/openapi.json')],
        ['metrics', await stack.fetch('/metrics')],
        ['not found', await stack.fetch('/no/such/route')],
        ['missing token', await stack.fetch('/api/v1/me')],
        ['me', await stack.fetch('/api/v1/me', { token })],
        ['gateway 401', await stack.fetch('/v1/chat/completions', { method: 'POST' })],
        [
          'too large',
          await stack.fetch('/api/v1/me', {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body: 'x'.repeat(GENERAL_LIMIT + 1),
          }),
        ],
        [
          'validation',
          await stack.fetch('/api/ai/generations', {
            method: 'POST',
            token,
            headers: { 'content-type': 'application/json' },
            body: '{}',
          }),
        ],
        [
          'gateway',
          await stack.fetch('/v1/chat/completions', {
            method: 'POST',
            token,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'default',
              messages: [{ role: 'user', content: 'Name a bird' }],
            }),
          }),
        ],
      ];
      for (const [name, response] of answers) {
        expect(response.status, name).toBeLessThan(500);
        expectSecurityHeaders(response);
        await response.arrayBuffer();
      }
      expect(answers.find(([name]) => name === 'gateway')![1].status).toBe(200);
    });

    it('/docs keeps the policy it needs, and every asset it references is served from here', async () => {
      const stack = use();
      const page = await stack.fetch('/docs');
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expectSecurityHeaders(page, csp);
      const html = await page.text();
      // No inline script: the policy allows scripts from this origin only.
      expect(html).not.toMatch(/<script>(?!<\/script>)/);
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
      expect(assets.length).toBe(3);
      for (const asset of assets) {
        expect(asset.startsWith('/docs/assets/')).toBe(true);
        const response = await stack.fetch(asset);
        expect(response.status, asset).toBe(200);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        await response.arrayBuffer();
      }
    });

    it('served files may be shown by pages on other origins (cross-origin resource policy)', async () => {
      const stack = use();
      const store = stack.interior.deps.store;
      const path = variantPath(randomUUID(), randomUUID(), 0);
      await store.put('renders', path, await photo('webp'), 'image/webp');
      const image = await stack.fetch(`/files/${store.bucketName('renders')}/${path}`);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/webp');
      expectSecurityHeaders(image, STRICT_CSP, 'cross-origin');
      await image.arrayBuffer();
      const missing = await stack.fetch(
        `/files/${store.bucketName('renders')}/${randomUUID()}/x.webp`,
      );
      expect(missing.status).toBe(404);
      expectSecurityHeaders(missing, STRICT_CSP, 'cross-origin');
    });

    // -----------------------------------------------------------------------------------------
    // CORS.
    // -----------------------------------------------------------------------------------------

    it('without GENLOOP_CORS_ORIGINS there are no CORS headers, and a preflight is an ordinary 4xx', async () => {
      const stack = use();
      const preflight = await stack.fetch('/api/v1/me', {
        method: 'OPTIONS',
        headers: {
          origin: APP_ORIGIN,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(preflight.status).toBe(401);
      expect((await problemOf(preflight)).code).toBe('missing_token');
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      const get = await stack.fetch('/api/v1/me', {
        token: await stack.token(),
        headers: { origin: APP_ORIGIN },
      });
      expect(get.status).toBe(200);
      expect([...get.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual(
        [],
      );
    });

    it('a preflight from a listed origin is 204 without a token, naming methods, headers and max age', async () => {
      const app = appWith(use(), { GENLOOP_CORS_ORIGINS: `${APP_ORIGIN},http://localhost:3000` });
      for (const path of ['/api/v1/me', '/api/ai/generations', '/v1/chat/completions']) {
        const response = await app.request(path, {
          method: 'OPTIONS',
          headers: {
            origin: APP_ORIGIN,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization, content-type, idempotency-key',
          },
        });
        expect(response.status, path).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
        expect(response.headers.get('access-control-allow-credentials')).toBe('true');
        expect(response.headers.get('access-control-allow-methods')).toBe(
          'GET, POST, PATCH, DELETE, OPTIONS',
        );
        const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
        for (const header of ['authorization', 'content-type', 'idempotency-key', 'x-request-id']) {
          expect(allowed).toContain(header);
        }
        expect(allowed).toContain('x-genloop-cache');
        expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
        expect(response.headers.get('vary')).toContain('Origin');
        expectSecurityHeaders(response);
      }
      expect(CORS_ALLOW_HEADERS).not.toContain('*');
    });

    it('a listed origin reads answers and errors with credentials; its origin is echoed, never *', async () => {
      const stack = use();
      const app = appWith(stack, { GENLOOP_CORS_ORIGINS: `${APP_ORIGIN},http://localhost:3000` });
      const ok = await app.request('/api/v1/me', {
        headers: { origin: 'http://localhost:3000', ...bearer(await stack.token()) },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      expect(ok.headers.get('vary')).toContain('Origin');
      const exposed = ok.headers.get('access-control-expose-headers')!.split(', ');
      for (const header of ['x-request-id', 'retry-after', 'idempotent-replayed', 'location']) {
        expect(exposed).toContain(header);
      }
      expectSecurityHeaders(ok);

      const refused = await app.request('/api/v1/me', { headers: { origin: APP_ORIGIN } });
      expect(refused.status).toBe(401);
      expect((await problemOf(refused)).code).toBe('missing_token');
      expect(refused.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(refused.headers.get('access-control-expose-headers')).toContain('x-request-id');
      expectSecurityHeaders(refused);
    });

    it('an unlisted origin gets no CORS headers, and its preflight no allowed methods or headers', async () => {
      const stack = use();
      const app = appWith(stack, { GENLOOP_CORS_ORIGINS: APP_ORIGIN });
      for (const origin of [
        'https://evil.example.com',
        'https://app.example.com.evil.net',
        'null',
      ]) {
        const preflight = await app.request('/api/v1/me', {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET' },
        });
        expect(preflight.status, origin).toBe(204);
        const get = await app.request('/api/v1/me', {
          headers: { origin, ...bearer(await stack.token()) },
        });
        expect(get.status).toBe(200);
        for (const response of [preflight, get]) {
          expect(
            [...response.headers.keys()].filter((name) => name.startsWith('access-control-')),
          ).toEqual([]);
          expect(response.headers.get('vary')).toContain('Origin');
        }
      }
    });

    // -----------------------------------------------------------------------------------------
    // GENLOOP_METRICS_TOKEN.
    // -----------------------------------------------------------------------------------------

    it('with GENLOOP_METRICS_TOKEN, /metrics needs that bearer token', async () => {
      const app = appWith(use(), { GENLOOP_METRICS_TOKEN: METRICS_TOKEN });
      const missing = await app.request('/metrics');
      expect(missing.status).toBe(401);
      expect((await problemOf(missing)).code).toBe('missing_token');
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expectSecurityHeaders(missing);
      for (const wrong of [`${METRICS_TOKEN}x`, METRICS_TOKEN.slice(0, -1), 'x', 'a'.repeat(500)]) {
        const response = await app.request('/metrics', { headers: bearer(wrong) });
        expect(response.status).toBe(401);
        expect((await problemOf(response)).code).toBe('invalid_token');
      }
      const basic = await app.request('/metrics', {
        headers: { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` },
      });
      expect(basic.status).toBe(401);
      const scraped = await app.request('/metrics', { headers: bearer(METRICS_TOKEN) });
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await scraped.text()).toContain('# HELP');
    });

    it('without GENLOOP_METRICS_TOKEN, /metrics stays open', async () => {
      const stack = use();
      expect(stack.config.metricsToken).toBeUndefined();
      const response = await stack.fetch('/metrics');
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    });
  },
  {
    env: {
      GENLOOP_JSON_LIMIT_BYTES: String(JSON_LIMIT),
      GENLOOP_BODY_LIMIT_BYTES: String(GENERAL_LIMIT),
    },
  },
);
