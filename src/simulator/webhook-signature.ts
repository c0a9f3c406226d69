import { createHmac } from 'node:crypto';
import { generateWebhookSecret, webhookSecretKey } from '../lib/webhook-secret.ts';

export { generateWebhookSecret, webhookSecretKey };

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
