import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook } from '../../simulator/index.ts';
import { verifyStandardWebhook } from './standard-webhooks.ts';

const secret = generateWebhookSecret();
const now = Date.UTC(2026, 1, 15, 12, 0, 0);
const seconds = Math.floor(now / 1000);
const body = Buffer.from(
  JSON.stringify({ id: 'p1', status: 'succeeded', output: ['https://x/1.png'] }),
);

function signed(
  overrides: { id?: string; timestamp?: number; secret?: string; body?: Buffer } = {},
) {
  const id = overrides.id ?? 'msg_2abc';
  const timestamp = overrides.timestamp ?? seconds;
  return {
    headers: {
      id,
      timestamp: String(timestamp),
      signature: signWebhook(overrides.secret ?? secret, id, timestamp, overrides.body ?? body),
    },
    body: overrides.body ?? body,
  };
}

describe('Standard Webhooks verification', () => {
  it('accepts a delivery signed as Replicate signs it (the simulator signer)', () => {
    const { headers } = signed();
    expect(verifyStandardWebhook(secret, headers, body, { now })).toEqual({
      ok: true,
      id: 'msg_2abc',
      timestamp: seconds,
    });
  });

  it('accepts when any of several signatures matches (key rotation), v1 entries only', () => {
    const { headers } = signed();
    const other = signWebhook(generateWebhookSecret(), 'msg_2abc', seconds, body);
    const v2 = `v2,${headers.signature.slice(3)}`;
    const signature = `${other} ${v2} ${headers.signature}`;
    expect(verifyStandardWebhook(secret, { ...headers, signature }, body, { now }).ok).toBe(true);
    expect(
      verifyStandardWebhook(secret, { ...headers, signature: `${other} ${v2}` }, body, { now }),
    ).toMatchObject({ ok: false, reason: 'signature' });
  });

  it('accepts a secret without the whsec_ prefix (the spec allows it)', () => {
    const { headers } = signed();
    expect(verifyStandardWebhook(secret.slice(6), headers, body, { now }).ok).toBe(true);
  });

  it('refuses one byte changed anywhere in the body', () => {
    const { headers } = signed();
    for (const index of [0, Math.floor(body.length / 2), body.length - 1]) {
      const changed = Buffer.from(body);
      changed[index] = changed[index]! ^ 0x01;
      expect(verifyStandardWebhook(secret, headers, changed, { now })).toMatchObject({
        ok: false,
        reason: 'signature',
      });
    }
  });

  it('refuses a changed id or timestamp (both are signed)', () => {
    const { headers } = signed();
    expect(verifyStandardWebhook(secret, { ...headers, id: 'msg_other' }, body, { now }).ok).toBe(
      false,
    );
    expect(
      verifyStandardWebhook(secret, { ...headers, timestamp: String(seconds + 1) }, body, { now })
        .ok,
    ).toBe(false);
  });

  it('refuses the wrong secret', () => {
    const { headers } = signed({ secret: generateWebhookSecret() });
    expect(verifyStandardWebhook(secret, headers, body, { now })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it('refuses missing headers', () => {
    const { headers } = signed();
    for (const name of ['id', 'timestamp', 'signature'] as const) {
      expect(
        verifyStandardWebhook(secret, { ...headers, [name]: undefined }, body, { now }),
      ).toMatchObject({ ok: false, reason: 'missing' });
    }
  });

  it('refuses a timestamp 6 minutes old or 6 minutes ahead, accepts 4 minutes either way', () => {
    for (const [offset, reason] of [
      [-360, 'stale'],
      [360, 'future'],
    ] as const) {
      const { headers } = signed({ timestamp: seconds + offset });
      expect(verifyStandardWebhook(secret, headers, body, { now })).toMatchObject({
        ok: false,
        reason,
      });
    }
    for (const offset of [-240, 240]) {
      const { headers } = signed({ timestamp: seconds + offset });
      expect(verifyStandardWebhook(secret, headers, body, { now }).ok).toBe(true);
    }
  });

  it('refuses a replay of a captured delivery once it is older than the tolerance', () => {
    const captured = signed();
    expect(verifyStandardWebhook(secret, captured.headers, body, { now }).ok).toBe(true);
    expect(
      verifyStandardWebhook(secret, captured.headers, body, { now: now + 301_000 }),
    ).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('refuses malformed timestamps and ids without computing anything', () => {
    const { headers } = signed();
    for (const timestamp of ['soon', '1.5', '-1', '']) {
      const result = verifyStandardWebhook(secret, { ...headers, timestamp }, body, { now });
      expect(result.ok).toBe(false);
    }
    expect(verifyStandardWebhook(secret, { ...headers, id: 'a b' }, body, { now })).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('signs the raw bytes, not a re-serialised body', () => {
    const spaced = Buffer.from('{ "id": "p1",  "status": "succeeded" }');
    const id = 'msg_raw';
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`${id}.${seconds}.`)
      .update(spaced)
      .digest('base64');
    const headers = { id, timestamp: String(seconds), signature: `v1,${expected}` };
    expect(verifyStandardWebhook(secret, headers, spaced, { now }).ok).toBe(true);
    const compact = Buffer.from(JSON.stringify(JSON.parse(spaced.toString())));
    expect(verifyStandardWebhook(secret, headers, compact, { now }).ok).toBe(false);
  });
});
