import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { signDevToken } from '../../src/cli/token.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { auth, createTokenVerifier } from '../../src/http/middleware/auth/index.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { describeEachDriver } from '../helpers/db.ts';

const SECRET = 'http-test-secret-0123456789abcdefghijklmnop';
const logger = createLogger({ logLevel: 'silent' });
// Config resolves in a folder of its own, so nothing reaches the repository's .genloop/.
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'genloop-http-'));
afterAll(() => rmSync(CONFIG_DIR, { recursive: true, force: true }));

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

function testConfig(env: Record<string, string> = {}) {
  // A secret is given, so nothing is written to a data folder.
  return resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET, ...env }, cwd: CONFIG_DIR });
}

interface TokenOptions {
  sub?: string;
  role?: string;
  audience?: string;
  /** Seconds since the epoch; null signs a token without `exp`. */
  expiresAt?: number | null;
  issuer?: string;
  secret?: string;
}

function hsToken({
  sub = randomUUID(),
  role = 'authenticated',
  audience = 'authenticated',
  expiresAt = Math.floor(Date.now() / 1000) + 3600,
  issuer,
  secret = SECRET,
}: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience(audience)
    .setIssuedAt();
  if (expiresAt !== null) jwt.setExpirationTime(expiresAt);
  if (issuer !== undefined) jwt.setIssuer(issuer);
  return jwt.sign(new TextEncoder().encode(secret));
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

  it('answers 401 invalid_token for a token without exp, which would never stop working', async () => {
    const response = await me(bearer(await hsToken({ expiresAt: null })));
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('invalid_token');
  });

  it('accepts any iss while GENLOOP_JWT_ISSUER is unset', async () => {
    const response = await me(bearer(await hsToken({ issuer: 'https://anyone.example.com' })));
    expect(response.status).toBe(200);
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

  it('answers 200 for a service_role token, run as the user in sub under row-level security', async () => {
    const sub = randomUUID();
    const response = await me(bearer(await hsToken({ sub, role: 'service_role' })));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      user_id: sub,
      role: 'service_role',
      database_role: 'authenticated',
      database_uid: sub,
    });
  });
});

describeEachDriver('HTTP auth with GENLOOP_JWT_ISSUER', (use) => {
  const ISSUER = 'https://project.supabase.co/auth/v1';
  let app: App;
  let config: ReturnType<typeof testConfig>;
  beforeAll(() => {
    config = testConfig({ GENLOOP_JWT_ISSUER: ISSUER });
    app = createApp({ config, db: use().db, logger });
  });

  const me = (token: string) =>
    app.request('/api/v1/me', { headers: { authorization: `Bearer ${token}` } });

  it('accepts a token whose iss is the configured issuer', async () => {
    const sub = randomUUID();
    const response = await me(await hsToken({ sub, issuer: ISSUER }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ user_id: sub, database_uid: sub });
  });

  it('answers 401 invalid_token for another iss or none', async () => {
    for (const token of [
      await hsToken({ issuer: 'https://other.supabase.co/auth/v1' }),
      await hsToken({ issuer: `${ISSUER}/` }),
      await hsToken(),
    ]) {
      const response = await me(token);
      expect(response.status).toBe(401);
      expect((await problemOf(response)).code).toBe('invalid_token');
    }
  });

  it('still answers token_expired for an expired token of the right issuer', async () => {
    const token = await hsToken({ issuer: ISSUER, expiresAt: Math.floor(Date.now() / 1000) - 120 });
    const response = await me(token);
    expect(response.status).toBe(401);
    expect((await problemOf(response)).code).toBe('token_expired');
  });

  it('accepts the tokens `genloop token` signs with this configuration', async () => {
    const user = randomUUID();
    for (const role of ['authenticated', 'service_role'] as const) {
      const response = await me(await signDevToken(config, { user, role, expiresIn: '5m' }));
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ user_id: user, role });
    }
  });
});

describe('the claims handed to the database', () => {
  /** A tiny app that answers with the caller as the auth middleware saw it. */
  function whoAmI(options: Parameters<typeof auth>[0]) {
    const app = new Hono();
    app.onError(errorHandler(logger));
    app.use(auth(options));
    app.get('/', (c) => {
      const { role, claims } = c.get('auth');
      return c.json({ role, database_role: claims.role });
    });
    return async (token: string) => {
      const response = await app.request('/', {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
  }

  it('are authenticated for a service_role token on a route that does not require it', async () => {
    const ask = whoAmI({ jwtSecret: SECRET });
    expect(await ask(await hsToken({ role: 'service_role' }))).toEqual({
      status: 200,
      body: { role: 'service_role', database_role: 'authenticated' },
    });
  });

  it('keep the service_role on a route that requires it (admin routes)', async () => {
    const ask = whoAmI({ jwtSecret: SECRET, requireRole: 'service_role' });
    expect(await ask(await hsToken({ role: 'service_role' }))).toEqual({
      status: 200,
      body: { role: 'service_role', database_role: 'service_role' },
    });
    expect((await ask(await hsToken())).status).toBe(403);
  });

  it('are authenticated for a gateway API key', async () => {
    const key = 'gl_claims_test_key_0123456789abcdef';
    const ask = whoAmI({ jwtSecret: SECRET, apiKeys: [key] });
    expect(await ask(key)).toEqual({
      status: 200,
      body: { role: 'service_role', database_role: 'authenticated' },
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

  it('refuses an empty issuer when built', () => {
    expect(() => createTokenVerifier({ jwtSecret: SECRET, issuer: ' ' })).toThrow(/issuer/);
  });

  it('requires exp and, when configured, the issuer', async () => {
    const verify = createTokenVerifier({ jwtSecret: SECRET, issuer: 'genloop-test' });
    await expect(verify(await hsToken({ issuer: 'genloop-test' }))).resolves.toMatchObject({
      iss: 'genloop-test',
    });
    await expect(
      verify(await hsToken({ issuer: 'genloop-test', expiresAt: null })),
    ).rejects.toThrow(/exp/);
    await expect(verify(await hsToken({ issuer: 'someone-else' }))).rejects.toThrow(/iss/);
  });
});
