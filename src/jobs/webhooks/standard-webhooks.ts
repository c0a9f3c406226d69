import { createHmac, timingSafeEqual } from 'node:crypto';
import { webhookSecretKey } from '../../lib/webhook-secret.ts';

/** The three Standard Webhooks headers, as received (any may be missing). */
export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type WebhookVerification =
  | { ok: true; id: string; timestamp: number }
  | {
      ok: false;
      /** `malformed` and `missing`: 400; the rest: 401. */
      reason: 'missing' | 'malformed' | 'stale' | 'future' | 'signature';
      message: string;
    };

/** Replicate and the Standard Webhooks reference libraries accept five minutes either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Verifies a Standard Webhooks delivery (as Replicate sends them) over the raw body bytes:
 * HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed with the base64 part of `whsec_<base64>`,
 * compared in constant time with every `v1,<base64>` entry of the space-separated signature
 * header (key rotation sends several), and a timestamp within `toleranceSeconds` of now, so a
 * captured delivery cannot be replayed later. The replicate SDK's own `validateWebhook` checks
 * neither the timestamp nor compares in constant time, hence this.
 *
 * @example
 * const result = verifyStandardWebhook(secret, { id, timestamp, signature }, rawBody);
 * if (!result.ok) return answer(result.reason === 'missing' ? 400 : 401);
 */
export function verifyStandardWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: Uint8Array,
  options: { now?: number; toleranceSeconds?: number } = {},
): WebhookVerification {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    return {
      ok: false,
      reason: 'missing',
      message: 'webhook-id, webhook-timestamp and webhook-signature are required',
    };
  }
  if (id.length > 256 || !/^[\x21-\x7e]+$/.test(id)) {
    return { ok: false, reason: 'malformed', message: 'webhook-id is malformed' };
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    return { ok: false, reason: 'malformed', message: 'webhook-timestamp is not unix seconds' };
  }
  const seconds = Number(timestamp);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (seconds < now - tolerance) {
    return { ok: false, reason: 'stale', message: 'webhook-timestamp is too old' };
  }
  if (seconds > now + tolerance) {
    return { ok: false, reason: 'future', message: 'webhook-timestamp is in the future' };
  }
  const expected = signatureOf(secret, id, timestamp, body);
  const matches = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .some((entry) => {
      const given = Buffer.from(entry.slice(3), 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  return matches
    ? { ok: true, id, timestamp: seconds }
    : { ok: false, reason: 'signature', message: 'no webhook-signature matches' };
}

/**
 * The headers that sign one outbound delivery per Standard Webhooks, as genloop signs what it
 * sends (and as {@link verifyStandardWebhook} checks): the `webhook-id` (the receiver's dedupe
 * key: keep it across retries), the `webhook-timestamp` of this attempt, and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">`.
 *
 * @example
 * const headers = signStandardWebhook(secret, 'canary_3_17', JSON.stringify(event));
 * await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
 */
export function signStandardWebhook(
  secret: string,
  id: string,
  body: string,
  now: number = Date.now(),
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = String(Math.floor(now / 1000));
  const signature = signatureOf(secret, id, timestamp, Buffer.from(body));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature.toString('base64')}`,
  };
}

function signatureOf(secret: string, id: string, timestamp: string, body: Uint8Array): Buffer {
  return createHmac('sha256', webhookSecretKey(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest();
}
