import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';

/** How long a printed console link works. */
export const SIGN_IN_CODE_TTL_MS = 15 * 60_000;
/** How long the token a code is exchanged for works: a working day at the console. */
export const CONSOLE_TOKEN_TTL_S = 12 * 60 * 60;
/** The `sub` of console tokens, so the rollout log names who made an edit: the local operator. */
export const CONSOLE_OPERATOR = '00000000-0000-4000-8000-000000000002';

/**
 * The one-time code of the console link `genloop serve` prints in embedded mode, so that opening
 * the link signs the developer in without a token in the URL (nor in the browser's history).
 * It works once, for 15 minutes, and is compared in constant time.
 *
 * @example
 * const signIn = new SignInCode();
 * console.log(`${url}/console/sign-in?code=${signIn.code}`);
 * signIn.consume(candidate); // true once
 */
export class SignInCode {
  readonly code: string;
  private readonly digest: Buffer;
  private readonly expiresAt: number;
  private used = false;

  constructor(
    private readonly now: () => number = Date.now,
    ttlMs: number = SIGN_IN_CODE_TTL_MS,
  ) {
    this.code = randomBytes(24).toString('base64url');
    this.digest = sha256(this.code);
    this.expiresAt = now() + ttlMs;
  }

  /** True the first time the right code is given before it expires; false ever after. */
  consume(candidate: string): boolean {
    // Digests have one length, so the comparison takes the same time whatever was sent.
    const matches = timingSafeEqual(this.digest, sha256(candidate));
    if (!matches || this.used || this.now() >= this.expiresAt) return false;
    this.used = true;
    return true;
  }
}

/** A service_role token for the console, signed with the server's own HS256 secret. */
export async function signConsoleToken(
  auth: { jwtSecret: string; audience: string; issuer: string | undefined },
  now: number = Date.now(),
): Promise<{ token: string; expiresAt: Date }> {
  const issuedAt = Math.floor(now / 1000);
  const expiresAt = issuedAt + CONSOLE_TOKEN_TTL_S;
  const token = await new SignJWT({ role: 'service_role' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(CONSOLE_OPERATOR)
    .setAudience(auth.audience)
    // The server compares `iss` with GENLOOP_JWT_ISSUER when that is set.
    .setIssuer(auth.issuer ?? 'genloop')
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(auth.jwtSecret));
  return { token, expiresAt: new Date(expiresAt * 1000) };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
