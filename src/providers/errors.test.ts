import { describe, expect, it } from 'vitest';
import {
  AttemptTimeout,
  classifyStatus,
  httpProviderError,
  retryAfterMs,
  toProviderError,
} from './errors.ts';

const headers = (values: Record<string, string>) => (name: string) => values[name] ?? null;

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
    expect(retryAfterMs(headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(retryAfterMs(headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(
      3000,
    );
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('httpProviderError', () => {
  it('parses the error body and spots content-policy refusals', () => {
    const error = httpProviderError('openai', 400, headers({}), {
      error: {
        code: 'content_policy_violation',
        message: 'refused',
        type: 'invalid_request_error',
      },
    });
    expect(error.errorClass).toBe('content_policy');
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(400);
    expect(error.message).toBe('openai answered 400: refused');
    expect(error.body).toEqual({
      code: 'content_policy_violation',
      message: 'refused',
      type: 'invalid_request_error',
    });
  });

  it('keeps Retry-After of a 429', () => {
    const error = httpProviderError('openrouter', 429, headers({ 'retry-after': '3' }), {
      error: { message: 'slow down' },
    });
    expect(error).toMatchObject({
      errorClass: 'rate_limited',
      retryable: true,
      retryAfterMs: 3000,
      provider: 'openrouter',
    });
  });

  it('classifies a body that is not OpenAI-shaped by its status alone', () => {
    const error = httpProviderError('custom', 502, headers({}), '<html>bad gateway</html>');
    expect(error).toMatchObject({ errorClass: 'server_error', retryable: true, status: 502 });
    expect(error.message).toBe('custom answered 502: <html>bad gateway</html>');
    expect(httpProviderError('custom', 500, headers({}), undefined).message).toBe(
      'custom answered 500: no error message',
    );
  });
});

describe('toProviderError', () => {
  it('tells a timeout from a cancel', () => {
    const abort = new DOMException('aborted', 'AbortError');
    expect(toProviderError('custom', abort, true).errorClass).toBe('timeout');
    expect(toProviderError('custom', abort, false).errorClass).toBe('canceled');
    expect(toProviderError('custom', new AttemptTimeout(50), true).errorClass).toBe('timeout');
    expect(toProviderError('custom', new Error('odd'), false)).toMatchObject({
      errorClass: 'unknown',
      retryable: false,
    });
  });

  it('a call whose own signal fired is a cancel, whatever error its server aborted it with', () => {
    const closed = new Error('Client connection prematurely closed.');
    expect(toProviderError('custom', closed, false, true)).toMatchObject({
      errorClass: 'canceled',
      retryable: false,
    });
    expect(toProviderError('custom', closed, true, true).errorClass).toBe('timeout');
    // An answer the provider already gave keeps its own class.
    const answered = toProviderError('custom', new DOMException('x', 'AbortError'), false);
    expect(toProviderError('openai', answered, false, true)).toBe(answered);
  });
});
