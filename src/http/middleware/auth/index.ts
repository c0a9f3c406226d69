import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { isUuid } from '../../../lib/uuid.ts';
import type { AuthInfo } from '../../context.ts';
import { HttpError } from '../../http-error.ts';
import { TokenCache } from './token-cache.ts';

export interface AuthOptions {
  /** HS256 secret (the Supabase JWT secret). */
  jwtSecret?: string | undefined;
  /** JWKS endpoint for asymmetric keys (Supabase's new signing keys, or any IdP). */
  jwksUrl?: string | undefined;
  audience?: string;
  /** When set, a token must carry exactly this `iss` (Supabase: `https://<project>.supabase.co/auth/v1`). */
  issuer?: string | undefined;
  /**
   * Only callers with this role pass (admin routes use 'service_role'). Only on such routes do
   * the claims handed to the database keep the service_role; see {@link auth}.
   */
  requireRole?: 'service_role';
  /** Static API keys also accepted as bearer tokens (the OpenAI-compatible gateway). */
  apiKeys?: readonly string[];
  /**
   * How long a verified token or API key is remembered (ms; default 10 s, 0 turns it off): see
   * {@link TokenCache}. Never longer than the token's `exp`.
   */
  tokenCacheMs?: number;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export type TokenVerifier = (token: string) => Promise<JWTPayload>;

/**
 * Builds the function that verifies a bearer token: signature (HS256 with the secret, or the
 * keys at the JWKS URL), expiry, audience and, when configured, issuer. `alg: none` and any
 * algorithm outside the configured family are refused by jose before the signature is looked at.
 * A token without `exp` is refused too: it would never stop working.
 */
export function createTokenVerifier({
  jwtSecret,
  jwksUrl,
  audience = 'authenticated',
  issuer,
}: AuthOptions): TokenVerifier {
  if (jwtSecret === undefined && jwksUrl === undefined) {
    throw new TypeError('auth: set jwtSecret or jwksUrl');
  }
  if (issuer !== undefined && issuer.trim() === '') {
    throw new TypeError('auth: issuer must not be empty');
  }
  const claims = {
    audience,
    requiredClaims: ['exp', 'sub'],
    ...(issuer === undefined ? {} : { issuer }),
  };
  if (jwksUrl !== undefined) {
    const keys = createRemoteJWKSet(new URL(jwksUrl));
    const options = { ...claims, algorithms: ['RS256', 'ES256', 'EdDSA'] };
    return async (token) => (await jwtVerify(token, keys, options)).payload;
  }
  const key = new TextEncoder().encode(jwtSecret);
  const options = { ...claims, algorithms: ['HS256'] };
  return async (token) => (await jwtVerify(token, key, options)).payload;
}

/** Who sends an `Authorization` header: the caller, or a thrown 401/403 HttpError. */
export type Authenticator = (authorization: string | undefined) => AuthInfo | Promise<AuthInfo>;

/**
 * The check behind {@link auth}, without a web framework: the fast lane and the middleware share
 * one, and with it one token cache. Answers synchronously when the token is remembered.
 */
export function createAuthenticator(
  options: AuthOptions & { verifier?: TokenVerifier },
): Authenticator {
  const verify = options.verifier ?? createTokenVerifier(options);
  const requireRole = options.requireRole;
  const keyDigests = (options.apiKeys ?? []).map(digest);
  const cache = new TokenCache<AuthInfo>({ ttlMs: options.tokenCacheMs ?? 10_000 });
  const databaseRole = (role: AuthInfo['role']): AuthInfo['role'] =>
    requireRole === 'service_role' ? role : 'authenticated';

  /** Who `token` belongs to and until when that holds; throws the 401. */
  async function authenticate(token: string): Promise<{ info: AuthInfo; expiresAtMs?: number }> {
    if (keyDigests.length > 0 && matchesKey(keyDigests, token)) {
      return {
        info: {
          kind: 'api_key',
          userId: NIL_UUID,
          role: 'service_role',
          claims: { sub: NIL_UUID, role: databaseRole('service_role') },
        },
      };
    }
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      throw new HttpError(
        401,
        expired ? 'token_expired' : 'invalid_token',
        expired ? 'token expired' : 'invalid token',
        {
          headers: { 'www-authenticate': `Bearer error="invalid_token"` },
          cause: error,
        },
      );
    }
    const { role, sub, exp } = payload;
    if (
      (role !== 'authenticated' && role !== 'service_role') ||
      typeof sub !== 'string' ||
      !isUuid(sub) ||
      // Checked again here for verifiers given from outside: the cache relies on `exp`.
      typeof exp !== 'number'
    ) {
      throw new HttpError(401, 'invalid_token', 'invalid token', {
        detail: 'the token needs a uuid sub, an exp and the role authenticated or service_role',
        headers: { 'www-authenticate': `Bearer error="invalid_token"` },
      });
    }
    return {
      info: {
        kind: 'user',
        userId: sub.toLowerCase(),
        role,
        claims: { ...payload, sub: sub.toLowerCase(), role: databaseRole(role) },
      },
      expiresAtMs: exp * 1000,
    };
  }

  function permitted(info: AuthInfo): AuthInfo {
    if (requireRole !== undefined && info.role !== requireRole) {
      throw new HttpError(403, 'forbidden', 'this endpoint needs the service_role');
    }
    return info;
  }

  return function authenticator(header) {
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new HttpError(401, 'missing_token', 'authentication required', {
        detail: 'send Authorization: Bearer <token>',
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    const token = match[1]!;
    const remembered = cache.get(token);
    if (remembered !== undefined) return permitted(remembered);
    return authenticate(token).then((verified) => {
      // Shared by every request that sends this token until the entry expires: read-only.
      const info = Object.freeze({
        ...verified.info,
        claims: Object.freeze(verified.info.claims),
      });
      cache.set(token, info, verified.expiresAtMs);
      return permitted(info);
    });
  };
}

/**
 * Requires `Authorization: Bearer <jwt>` and puts the caller on the context as `auth`.
 * Failures are 401 with codes `missing_token`, `token_expired` or `invalid_token`.
 *
 * `auth.role` is the token's role, for decisions about what the caller may do. `auth.claims`
 * are what the database runs as, and their role is `authenticated` unless the route requires
 * the service_role: a service_role token on a user route acts as the user in its `sub`, under
 * row-level security, instead of silently reaching every user's rows.
 */
export function auth(
  options: (AuthOptions & { verifier?: TokenVerifier }) | Authenticator,
): MiddlewareHandler {
  const authenticate = typeof options === 'function' ? options : createAuthenticator(options);
  return async function authMiddleware(c, next) {
    c.set('auth', await authenticate(c.req.header('authorization')));
    await next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares digests in constant time, so a key cannot be guessed byte by byte from timings. */
function matchesKey(digests: readonly Buffer[], candidate: string): boolean {
  const candidateDigest = digest(candidate);
  let found = false;
  for (const keyDigest of digests) found = timingSafeEqual(keyDigest, candidateDigest) || found;
  return found;
}
