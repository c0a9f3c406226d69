import { randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** True when `secret` has the form Replicate and other Standard Webhooks senders hand out. */
export function isWebhookSecret(secret: string): boolean {
  return secret.startsWith(PREFIX) && BASE64.test(secret.slice(PREFIX.length));
}

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_<base64>`): the base64-decoded part after
 * the prefix, which the specification lets senders leave out. Throws a RangeError naming the
 * problem when the rest is not base64, so a bad secret fails where it is configured rather than
 * as signatures that never match.
 */
export function webhookSecretKey(secret: string): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (!BASE64.test(encoded)) {
    throw new RangeError('a webhook secret is "whsec_" followed by base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** A fresh Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(24).toString('base64')}`;
}
