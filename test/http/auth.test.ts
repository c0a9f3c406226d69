import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { type App, createApp } from '../../src/http/app.ts';
import { createTokenVerifier } from '../../src/http/middleware/auth/index.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { describeEachDriver } from '../helpers/db.ts';

const SECRET = 'http-test-secret-0123456789abcdefghijklmnop';
const logger = createLogger({ logLevel: 'silent' });
// Config resolves in a folder of its own, so nothing reaches the repository's .genloop/.
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'genloop-http-'));
afterAll(() => rmSync(CONFIG_DIR, { recursive: true, force: true }));

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

function testConfig() {
  // A secret is given, so nothing is written to a data folder.
  return resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd: CONFIG_DIR });
}

interface TokenOptions {
  sub?: string;
  role?: string;
  audience?: string;
  expiresAt?: number;
  secret?: string;
}

function hsToken({
  sub = randomUUID(),
  role = 'authenticated',
  audience = 'authenticated',
  expiresAt = Math.floor(Date.now() / 1000) + 3600,
  secret = SECRET,
}: TokenOptions = {}): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned token (`alg: none`) whose claims are otherwise valid. */
function unsignedToken(sub: string): string {
  const payload: JWTPayload = {
    sub,
    role: 'authenticated',
    aud: 'authenticated',
    exp: Math.floor(Date.now() / 1000) + 3600,
  };
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
}

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as { code: string; status: number; request_id: string };
  expect(body.status).toBe(response.status);
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}

describeEachDriver('HTTP auth with an HS256 secret', (use) => {
  let app: App;
  beforeAll(() => {
    app = createApp({ config: testConfig(), db: use().db, logger });
  });

  const me = (headers: Record<string, string> = {}) => app.request('/api/v1/me', { headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('answers 401 missing_token without an Authorization header', async () => {
    const response = await me();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect((await problemOf(response)).code).toBe('missing_token');
  });

  it('answers 401 missing_token for a non-bearer scheme', async () => {
    const response = await me({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('missing_token');
  });

  it('answers 401 for an alg none token', async () => {
    const response = await me(bearer(unsignedToken(randomUUID())));
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('answers 401 for a token signed with another secret', async () => {
    const token = await hsToken({ secret: 'another-secret-that-is-also-long-enough-0000' });
    const response = await me(bearer(token));
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('answers 401 for a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await hsToken()).split('.');
    const forged = base64url({
      sub: randomUUID(),
      role: 'service_role',
      aud: 'authenticated',
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const response = await me(bearer(`${header}.${forged}.${signature}`));
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('answers 401 token_expired for an expired token', async () => {
    const token = await hsToken({ expiresAt: Math.floor(Date.now() / 1000) - 120 });
    const response = await me(bearer(token));
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('token_expired');
  });

  it('answers 401 for a token with the wrong audience', async () => {
    const response = await me(bearer(await hsToken({ audience: 'some-other-api' })));
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('answers 401 for a token whose sub is not a uuid or whose role is anon', async () => {
    for (const token of [await hsToken({ sub: 'user-42' }), await hsToken({ role: 'anon' })]) {
      const response = await me(bearer(token));
      expect(response.status).toBe(401);
      expect((await problemOf(response)).code).toBe('invalid_token');
    }
  });

  it('answers 200 for a valid token: the database runs as authenticated with auth.uid() = sub', async () => {
    const sub = randomUUID();
    const response = await me(bearer(await hsToken({ sub })));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      user_id: sub,
      role: 'authenticated',
      database_role: 'authenticated',
      database_uid: sub,
    });
  });

  it('answers 200 for a service_role token, run as service_role', async () => {
    const sub = randomUUID();
    const response = await me(bearer(await hsToken({ sub, role: 'service_role' })));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      user_id: sub,
      role: 'service_role',
      database_role: 'service_role',
      database_uid: sub,
    });
  });
});

describeEachDriver('HTTP auth with a JWKS URL', (use) => {
  let server: Server;
  let app: App;
  let signingKey: SigningKey;
  let strangerKey: SigningKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const verifier = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    app = createApp({ config: testConfig(), db: use().db, logger, verifier });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const rsToken = (key: SigningKey, sub: string, kid = 'test-key') =>
    new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(sub)
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(key);

  it('accepts an RS256 token signed by a key of the JWKS', async () => {
    const sub = randomUUID();
    const response = await app.request('/api/v1/me', {
      headers: { authorization: `Bearer ${await rsToken(signingKey, sub)}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ user_id: sub, database_uid: sub });
  });

  it('rejects an RS256 token signed by another key with the same kid', async () => {
    const response = await app.request('/api/v1/me', {
      headers: { authorization: `Bearer ${await rsToken(strangerKey, randomUUID())}` },
    });
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('rejects an HS256 token, even one signed with the configured secret', async () => {
    const response = await app.request('/api/v1/me', {
      headers: { authorization: `Bearer ${await hsToken()}` },
    });
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('rejects an alg none token', async () => {
    const response = await app.request('/api/v1/me', {
      headers: { authorization: `Bearer ${unsignedToken(randomUUID())}` },
    });
    expect(response.status).toBe(401);
  });
});

describe('createTokenVerifier', () => {
  it('refuses to be built without a secret or a JWKS URL', () => {
    expect(() => createTokenVerifier({})).toThrow(/jwtSecret or jwksUrl/);
  });
});
