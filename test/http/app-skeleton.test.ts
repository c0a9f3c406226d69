import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTestDatabase, describeEachDriver } from '../helpers/db.ts';

const SECRET = 'http-test-secret-0123456789abcdefghijklmnop';
const BODY_LIMIT = 2048;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const logger = createLogger({ logLevel: 'silent' });
// Config resolves in a folder of its own, so nothing reaches the repository's .genloop/.
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'genloop-http-'));
afterAll(() => rmSync(CONFIG_DIR, { recursive: true, force: true }));

function testConfig() {
  return resolveConfig({
    env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_BODY_LIMIT_BYTES: String(BODY_LIMIT) },
    cwd: CONFIG_DIR,
  });
}

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as {
    type: string;
    title: string;
    code: string;
    status: number;
    request_id: string;
  };
  expect(body.status).toBe(response.status);
  expect(body.type).toBe(`urn:genloop:problem:${body.code}`);
  expect(body.title).toEqual(expect.any(String));
  expect(body.request_id).toMatch(UUID);
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}

describeEachDriver('HTTP skeleton', (use, driver) => {
  let app: App;
  beforeAll(() => {
    app = createApp({ config: testConfig(), db: use().db, logger });
  });

  it('GET /healthz answers 200 ok', async () => {
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 with the database ok', async () => {
    const response = await app.request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ready',
      database: { driver, ok: true },
    });
  });

  it('GET /readyz answers 503 once the database is closed', async () => {
    const database = await createTestDatabase(driver);
    const own = createApp({ config: testConfig(), db: database.db, logger });
    expect((await own.request('/readyz')).status).toBe(200);
    await database.dispose();
    const response = await own.request('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      status: 'unavailable',
      database: { driver, ok: false },
    });

    // A request that needs the closed database is a bare 500 that leaks nothing internal.
    const token = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(randomUUID())
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const failed = await own.request('/api/v1/me', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(failed.status).toBe(500);
    const problem = await problemOf(failed);
    expect(problem).toEqual({
      type: 'urn:genloop:problem:internal_error',
      title: 'internal server error',
      status: 500,
      code: 'internal_error',
      request_id: problem.request_id,
    });
  });

  it('an unknown route is 404 route_not_found as problem+json', async () => {
    const response = await app.request('/no/such/route', { method: 'POST' });
    expect(response.status).toBe(404);
    const problem = await problemOf(response);
    expect(problem.code).toBe('route_not_found');
  });

  it('a body over the limit is 413 payload_too_large, before authentication', async () => {
    const body = 'x'.repeat(BODY_LIMIT + 1);
    const response = await app.request('/api/v1/me', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'content-length': String(body.length) },
      body,
    });
    expect(response.status).toBe(413);
    expect((await problemOf(response)).code).toBe('payload_too_large');
  });

  it('a streamed body without content-length is cut off at the limit with 413', async () => {
    const chunk = new TextEncoder().encode('y'.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= BODY_LIMIT * 4) {
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    // Node's fetch needs `duplex` for a stream body; the RequestInit type does not list it.
    const init = { method: 'POST', body: stream, duplex: 'half' } as RequestInit;
    const response = await app.request('/healthz', init);
    expect(response.status).toBe(413);
    expect((await problemOf(response)).code).toBe('payload_too_large');
  });

  it('a body within the limit passes the limit', async () => {
    const response = await app.request('/no/such/route', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(BODY_LIMIT),
    });
    expect(response.status).toBe(404);
  });

  it('echoes an incoming x-request-id that is a uuid', async () => {
    const id = randomUUID();
    const response = await app.request('/healthz', { headers: { 'x-request-id': id } });
    expect(response.headers.get('x-request-id')).toBe(id);
  });

  it('echoes an upper-case uuid in lower case and uses it in problem documents', async () => {
    const id = randomUUID();
    const response = await app.request('/nowhere', {
      headers: { 'x-request-id': id.toUpperCase() },
    });
    expect(response.headers.get('x-request-id')).toBe(id);
    expect((await problemOf(response)).request_id).toBe(id);
  });

  it('replaces an incoming x-request-id that is not a uuid', async () => {
    const response = await app.request('/healthz', {
      headers: { 'x-request-id': 'abc; drop table users' },
    });
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(id).not.toBe('abc; drop table users');
  });

  it('gives every response a fresh request id when none is sent', async () => {
    const first = (await app.request('/healthz')).headers.get('x-request-id');
    const second = (await app.request('/healthz')).headers.get('x-request-id');
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(first).not.toBe(second);
  });

  it('GET /openapi.json is an OpenAPI 3.1.0 document listing the routes', async () => {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    const document = JSON.parse(await response.text()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/api/v1/me']).toHaveProperty('get');
    expect(document.paths['/healthz']).toHaveProperty('get');
    expect(document.paths['/readyz']).toHaveProperty('get');
    expect(document.components.securitySchemes).toHaveProperty('bearerAuth');
  });

  it('GET /docs serves the API reference page', async () => {
    const response = await app.request('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(html).toContain('/docs/assets/init.js');
  });

  it('serves the reference page assets locally', async () => {
    const bundle = await app.request('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    const css = await app.request('/docs/assets/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const init = await app.request('/docs/assets/init.js');
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('/openapi.json');
  });

  it('does not serve other files from the assets folder', async () => {
    const response = await app.request('/docs/assets/package.json');
    expect(response.status).toBe(404);
    expect((await problemOf(response)).code).toBe('route_not_found');
  });
});
