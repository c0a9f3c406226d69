import { APIConnectionError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { AttemptTimeout, classifyStatus, retryAfterMs, toProviderError } from './errors.ts';

describe('classifyStatus', () => {
  it.each([
    [429, 'rate_limited', true],
    [408, 'timeout', true],
    [409, 'server_error', true],
    [500, 'server_error', true],
    [503, 'server_error', true],
    [400, 'bad_request', false],
    [422, 'bad_request', false],
    [401, 'auth', false],
    [403, 'auth', false],
  ])('%i → %s (retryable %s)', (status, errorClass, retryable) => {
    expect(classifyStatus(status)).toEqual({ errorClass, retryable });
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(
      3000,
    );
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('toProviderError', () => {
  it('parses the error body and spots content-policy refusals', () => {
    const refusal = APIError.generate(
      400,
      {
        error: {
          code: 'content_policy_violation',
          message: 'refused',
          type: 'invalid_request_error',
        },
      },
      undefined,
      new Headers(),
    );
    const error = toProviderError('openai', refusal, false);
    expect(error.errorClass).toBe('content_policy');
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(400);
  });

  it('keeps Retry-After of a 429', () => {
    const limited = APIError.generate(
      429,
      { error: { message: 'slow down' } },
      undefined,
      new Headers({ 'retry-after': '3' }),
    );
    const error = toProviderError('openrouter', limited, false);
    expect(error).toMatchObject({
      errorClass: 'rate_limited',
      retryable: true,
      retryAfterMs: 3000,
      provider: 'openrouter',
    });
  });

  it('tells a timeout from a cancel and a network failure', () => {
    const abort = new DOMException('aborted', 'AbortError');
    expect(toProviderError('custom', abort, true).errorClass).toBe('timeout');
    expect(toProviderError('custom', abort, false).errorClass).toBe('canceled');
    expect(
      toProviderError('custom', new APIConnectionError({ message: 'reset' }), false),
    ).toMatchObject({
      errorClass: 'network',
      retryable: true,
    });
    expect(new AttemptTimeout(50).name).toBe('TimeoutError');
  });
});
