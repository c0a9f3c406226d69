import { SignJWT } from 'jose';

/** An Authorization header value and what it is, for reports. */
export interface Authorization {
  label: string;
  value: string;
}

/**
 * Authorization values that must be refused (malformed, alg none, bad signature, expired,
 * wrong audience or secret or algorithm, a sub that is not a uuid, a role genloop does not
 * know), and odd but valid spellings of the user's own token.
 */
export async function hostileAuthorizations(
  secret: string,
  userId: string,
  userToken: string,
): Promise<Authorization[]> {
  const key = new TextEncoder().encode(secret);
  const now = Math.floor(Date.now() / 1000);
  const signed = (
    claims: Record<string, unknown>,
    header: { alg: string } = { alg: 'HS256' },
    signingKey = key,
  ) => new SignJWT(claims).setProtectedHeader(header).sign(signingKey);
  const standard = { sub: userId, aud: 'authenticated', iat: now, exp: now + 3_600 };
  const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const [, payload] = userToken.split('.');
  const last = userToken.at(-2) === 'A' ? 'B' : 'A';
  const flipped = `${userToken.slice(0, -2)}${last}${userToken.at(-1)}`;
  const bearer = async (label: string, token: Promise<string>) => ({
    label,
    value: `Bearer ${await token}`,
  });
  return [
    { label: 'empty', value: '' },
    { label: 'scheme only', value: 'Bearer' },
    { label: 'scheme and space', value: 'Bearer ' },
    { label: 'basic', value: 'Basic dXNlcjpwYXNz' },
    { label: 'user, lowercase scheme', value: `bearer ${userToken}` },
    { label: 'two tokens', value: `Bearer ${userToken} ${userToken}` },
    { label: 'token with junk', value: `Bearer ${userToken}x` },
    { label: 'bad signature', value: `Bearer ${flipped}` },
    { label: 'alg none', value: `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.` },
    { label: 'three dots', value: 'Bearer a.b.c' },
    { label: '10k junk', value: `Bearer ${'a'.repeat(10_000)}` },
    { label: 'control characters', value: 'Bearer \x01\x7f' },
    { label: 'latin-1', value: 'Bearer \xe9\xff' },
    await bearer(
      'expired',
      signed({ ...standard, role: 'authenticated', iat: now - 7_200, exp: now - 3_600 }),
    ),
    await bearer('wrong audience', signed({ ...standard, role: 'authenticated', aud: 'other' })),
    await bearer(
      'wrong secret',
      signed(
        { ...standard, role: 'authenticated' },
        { alg: 'HS256' },
        new TextEncoder().encode('another-secret-that-is-at-least-32-characters'),
      ),
    ),
    await bearer('HS512', signed({ ...standard, role: 'authenticated' }, { alg: 'HS512' })),
    await bearer('sub not a uuid', signed({ ...standard, role: 'authenticated', sub: 'admin' })),
    await bearer('no sub', signed({ ...standard, role: 'authenticated', sub: undefined })),
    await bearer('role anon', signed({ ...standard, role: 'anon' })),
    await bearer('role supabase_admin', signed({ ...standard, role: 'supabase_admin' })),
    await bearer('not yet valid', signed({ ...standard, role: 'authenticated', nbf: now + 3_600 })),
    await bearer(
      'claims with unstorable text',
      signed({ ...standard, role: 'authenticated', email: 'a\u0000\ud800' }),
    ),
  ];
}
