import fc from 'fast-check';
import { signWebhook } from '../../src/simulator/index.ts';

/** How a webhook delivery is signed: correctly, or in one of the ways a forger would get wrong. */
export type WebhookSigning =
  | 'valid'
  | 'stale'
  | 'future'
  | 'bad-signature'
  | 'wrong-secret'
  | 'garbage'
  | 'missing-id'
  | 'missing-timestamp'
  | 'missing-signature'
  | 'junk-timestamp'
  | 'replay'
  | 'several-signatures'
  | 'v2-only';

export interface WebhookPlan {
  signing: WebhookSigning;
  /** A header-safe junk value for the garbage modes. */
  junk: string;
  secret: string;
}

/**
 * One hostile request, ready to send in-process. A webhook is signed when the request is
 * built, so that a replay during shrinking still carries a fresh timestamp.
 */
export class FuzzRequest {
  constructor(
    readonly operation: string,
    readonly method: string,
    /** Path and query, already percent-encoded. */
    readonly url: string,
    readonly headers: Readonly<Record<string, string>>,
    /** Who the Authorization header says the caller is, for reports (tokens are long). */
    readonly caller: string,
    readonly body: Uint8Array | undefined,
    readonly webhook?: WebhookPlan,
  ) {}

  /** The arguments of `app.request`. */
  build(): [string, RequestInit] {
    const headers: Record<string, string> = { ...this.headers };
    if (this.webhook) Object.assign(headers, webhookHeaders(this.webhook, this.body));
    return [
      this.url,
      { method: this.method, headers, ...(this.body === undefined ? {} : { body: this.body }) },
    ];
  }

  /** A reproduction: method, path, headers and the exact body bytes (long runs shortened). */
  [fc.toStringMethod](): string {
    const shown = Object.entries(this.headers).map(([name, value]) =>
      name === 'authorization' ? `${name}: <${this.caller}>` : `${name}: ${escapeText(value)}`,
    );
    if (this.webhook) shown.push(`(webhook signed: ${this.webhook.signing})`);
    const body =
      this.body === undefined ? '(none)' : `(${this.body.length} bytes) ${preview(this.body)}`;
    return `${this.method} ${escapeText(this.url, 400)}\n  ${shown.join('\n  ')}\n  body ${body}`;
  }
}

/** Header and URL text (bytes 0-255) in the notation of {@link preview}. */
function escapeText(text: string, max = 200): string {
  return preview(new Uint8Array(Buffer.from(text, 'latin1')), max);
}

/**
 * Bytes as printable ASCII with `\xNN` escapes, so that a reproduction is exact; a run of one
 * byte longer than eight is shown once with its count (`a×1048577`).
 */
export function preview(bytes: Uint8Array, max = 3_000): string {
  const show = (byte: number) =>
    byte === 0x5c
      ? '\\\\'
      : byte >= 0x20 && byte < 0x7f
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  let out = '';
  let index = 0;
  while (index < bytes.length && out.length < max) {
    let end = index;
    while (end < bytes.length && bytes[end] === bytes[index]) end++;
    if (end - index > 8) {
      out += `${show(bytes[index]!)}×${end - index}`;
      index = end;
    } else {
      out += show(bytes[index]!);
      index++;
    }
  }
  return index < bytes.length ? `${out}…(+${bytes.length - index} bytes)` : out;
}

/** Percent-encodes every byte of the UTF-8 text that is not unreserved (lone surrogates as U+FFFD). */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const OTHER_SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
let deliveries = 0;

/** The Standard Webhooks headers of a delivery of `body`, signed as `plan` says. */
function webhookHeaders(plan: WebhookPlan, body: Uint8Array | undefined): Record<string, string> {
  const bytes = Buffer.from(body ?? new Uint8Array());
  const now = Math.floor(Date.now() / 1000);
  const id = plan.signing === 'replay' ? 'msg_fuzz_replayed' : `msg_fuzz_${++deliveries}_${now}`;
  const timestamp =
    plan.signing === 'stale' ? now - 360 : plan.signing === 'future' ? now + 360 : now;
  const secret = plan.signing === 'wrong-secret' ? OTHER_SECRET : plan.secret;
  let signature = signWebhook(secret, id, timestamp, bytes);
  if (plan.signing === 'bad-signature') signature = `${signature.slice(0, -3)}AAA`;
  if (plan.signing === 'several-signatures') signature = `v1,AAAA v1,${plan.junk} ${signature}`;
  if (plan.signing === 'v2-only') signature = signature.replace('v1,', 'v2,');
  const headers: Record<string, string> = {
    'webhook-id': id,
    'webhook-timestamp':
      plan.signing === 'junk-timestamp' ? plan.junk || '1e10' : String(timestamp),
    'webhook-signature': signature,
  };
  if (plan.signing === 'garbage') {
    headers['webhook-id'] = plan.junk;
    headers['webhook-signature'] = plan.junk;
  }
  if (plan.signing === 'missing-id') delete headers['webhook-id'];
  if (plan.signing === 'missing-timestamp') delete headers['webhook-timestamp'];
  if (plan.signing === 'missing-signature') delete headers['webhook-signature'];
  return headers;
}
