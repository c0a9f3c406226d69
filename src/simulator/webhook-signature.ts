import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_<base64>`): the base64-decoded part after
 * the prefix. Throws a RangeError naming the problem when the secret has the wrong form.
 */
export function webhookSecretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new RangeError('a webhook secret starts with "whsec_"');
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new RangeError('the part of a webhook secret after "whsec_" must be base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** A fresh Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(24).toString('base64')}`;
}

/**
 * The `webhook-signature` header value for one delivery, per Standard Webhooks (as Replicate
 * signs): `v1,` and the base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`, keyed with the
 * decoded secret.
 *
 * @example
 * const signature = signWebhook(secret, 'msg_1', Math.floor(Date.now() / 1000), JSON.stringify(body));
 * // headers: webhook-id: msg_1, webhook-timestamp: <that number>, webhook-signature: signature
 */
export function signWebhook(
  secret: string,
  id: string,
  timestamp: number | string,
  body: string | Buffer,
): string {
  const hmac = createHmac('sha256', webhookSecretKey(secret));
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}
