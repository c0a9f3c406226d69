const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** True when `secret` has the form Replicate and other Standard Webhooks senders hand out. */
export function isWebhookSecret(secret: string): boolean {
  return secret.startsWith(PREFIX) && BASE64.test(secret.slice(PREFIX.length));
}

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_<base64>`): the base64-decoded part after
 * the prefix. Throws a RangeError naming the problem when the secret has the wrong form, so a
 * bad secret fails where it is configured rather than as signatures that never match.
 */
export function webhookSecretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new RangeError('a webhook secret starts with "whsec_"');
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded)) {
    throw new RangeError('the part of a webhook secret after "whsec_" must be base64');
  }
  return Buffer.from(encoded, 'base64');
}
