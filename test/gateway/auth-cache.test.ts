import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import {
  auth,
  createTokenVerifier,
  type TokenVerifier,
} from '../../src/http/middleware/auth/index.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { describeEachDriver } from '../helpers/db.ts';

const SECRET = 'auth-cache-test-secret-0123456789abcdefghij';
const API_KEY = 'gl_auth_cache_key_0123456789abcdefghijkl';
const logger = createLogger({ logLevel: 'silent' });
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'genloop-auth-cache-'));
afterAll(() => rmSync(CONFIG_DIR, { recursive: true, force: true }));

function token(sub: string, expiresAt: number, role = 'authenticated'): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(SECRET));
}

const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

describeEachDriver('verified bearer tokens are remembered briefly', (use) => {
  let app: App;
  let verifications = 0;

  beforeAll(() => {
    const config = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_API_KEYS: API_KEY },
      cwd: CONFIG_DIR,
    });
    const verify = createTokenVerifier({ jwtSecret: SECRET });
    const verifier: TokenVerifier = (candidate) => {
      verifications++;
      return verify(candidate);
    };
    app = createApp({ config, db: use().db, logger, verifier });
  });

  const me = (bearer: string) =>
    app.request('/api/v1/me', { headers: { authorization: `Bearer ${bearer}` } });

  it('a token is verified once, then served from the cache as the same user', async () => {
    const sub = randomUUID();
    const jwt = await token(sub, inOneHour());
    const before = verifications;
    for (let request = 0; request < 3; request++) {
      const response = await me(jwt);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { user_id: string }).user_id).toBe(sub);
    }
    expect(verifications - before).toBe(1);
  });

  it('a rejected token is not remembered: every attempt is verified and refused', async () => {
    const forged = `${(await token(randomUUID(), inOneHour())).slice(0, -4)}AAAA`;
    const before = verifications;
    for (let request = 0; request < 2; request++) {
      const response = await me(forged);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { code: string }).code).toBe('invalid_token');
    }
    expect(verifications - before).toBe(2);
  });

  it('a cached token stops working when it expires', async () => {
    // Whole seconds: at least two ahead, so the first call is inside `exp` however slow the machine.
    const expiresAt = Math.floor(Date.now() / 1000) + 3;
    const jwt = await token(randomUUID(), expiresAt);
    expect((await me(jwt)).status).toBe(200);
    // Past `exp` (jose allows no clock skew by default): the entry is gone and the token refused.
    await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50));
    const response = await me(jwt);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('token_expired');
  });

  it('a cached token still meets the role check of a service_role route', async () => {
    const guarded = new Hono();
    guarded.onError(errorHandler(logger));
    guarded.use(auth({ jwtSecret: SECRET, requireRole: 'service_role' }));
    guarded.get('/admin', (c) => c.json({ ok: true }));
    const user = await token(randomUUID(), inOneHour());
    const service = await token(randomUUID(), inOneHour(), 'service_role');
    const get = (jwt: string) =>
      guarded.request('/admin', { headers: { authorization: `Bearer ${jwt}` } });
    for (let request = 0; request < 2; request++) {
      expect((await get(user)).status).toBe(403);
      expect((await get(service)).status).toBe(200);
    }
  });
});
