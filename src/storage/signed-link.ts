import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature of a local-driver link: HMAC-SHA256 over the bucket, the path and the expiry
 * (unix seconds), base64url. Anyone holding the link can read the object until it expires.
 */
export function signLink(key: string, bucket: string, path: string, expires: number): string {
  return createHmac('sha256', key).update(`${bucket}\n${path}\n${expires}`).digest('base64url');
}

/**
 * Checks a link's signature in constant time and that it has not expired.
 *
 * @example
 * verifyLink(key, 'uploads', 'u/g/input-1.jpg', '1767225600', 'Xy...', Date.now())
 */
export function verifyLink(
  key: string,
  bucket: string,
  path: string,
  expires: string | undefined,
  signature: string | undefined,
  now: number = Date.now(),
): boolean {
  if (expires === undefined || signature === undefined || !/^\d{1,12}$/.test(expires)) return false;
  if (Number(expires) * 1000 < now) return false;
  const expected = Buffer.from(signLink(key, bucket, path, Number(expires)));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
