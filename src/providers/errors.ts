import { z } from 'zod';
import type { ProviderName } from './types.ts';

/** Why a provider call failed, as recorded in `ai_provider_attempts.error_class`. */
export type ErrorClass =
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'network'
  | 'bad_request'
  | 'auth'
  | 'content_policy'
  | 'invalid_output'
  | 'stream_cut'
  | 'canceled'
  | 'unknown';

/**
 * A structured provider failure. `retryable` is derived from the status in one place
 * ({@link classifyStatus}); `retryAfterMs` carries the provider's Retry-After.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly provider: ProviderName;
  readonly status: number | undefined;
  readonly errorClass: ErrorClass;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly body: unknown;

  constructor(init: {
    provider: ProviderName;
    message: string;
    errorClass: ErrorClass;
    retryable: boolean;
    status?: number | undefined;
    retryAfterMs?: number | undefined;
    body?: unknown;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.provider = init.provider;
    this.status = init.status;
    this.errorClass = init.errorClass;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.body = init.body;
  }

  /** The diagnostic kept in telemetry and job errors (no secrets, bounded size). */
  toJSON() {
    return {
      provider: this.provider,
      status: this.status ?? null,
      error_class: this.errorClass,
      retryable: this.retryable,
      retry_after_ms: this.retryAfterMs ?? null,
      message: this.message.slice(0, 500),
      body: this.body === undefined ? null : JSON.stringify(this.body).slice(0, 2_000),
    };
  }
}

/** Retry rules from the status alone: 408, 409, 429 and 5xx are worth another try. */
export function classifyStatus(status: number): { errorClass: ErrorClass; retryable: boolean } {
  if (status === 429) return { errorClass: 'rate_limited', retryable: true };
  if (status === 408) return { errorClass: 'timeout', retryable: true };
  if (status === 409) return { errorClass: 'server_error', retryable: true };
  if (status >= 500) return { errorClass: 'server_error', retryable: true };
  if (status === 401 || status === 403) return { errorClass: 'auth', retryable: false };
  return { errorClass: 'bad_request', retryable: false };
}

/** OpenAI-style error bodies; OpenRouter and vLLM use the same shape. */
const errorBodySchema = z.object({
  code: z.union([z.string(), z.number()]).nullish(),
  type: z.string().nullish(),
  message: z.string().nullish(),
});

const CONTENT_POLICY_CODES = new Set([
  'content_policy_violation',
  'content_filter',
  'moderation_blocked',
]);

/**
 * The failure a provider's non-2xx answer stands for: classified by its status, a content-policy
 * refusal told apart by the error body's code, with the provider's Retry-After. `body` is the
 * parsed answer; OpenAI-style APIs wrap the details in an `error` object.
 */
export function httpProviderError(
  provider: ProviderName,
  status: number,
  header: (name: string) => string | null,
  body: unknown,
): ProviderError {
  const details =
    body !== null && typeof body === 'object' && 'error' in body
      ? (body as { error: unknown }).error
      : body;
  const parsed = errorBodySchema.safeParse(details);
  const code = parsed.success ? String(parsed.data.code ?? parsed.data.type ?? '') : '';
  let { errorClass, retryable } = classifyStatus(status);
  if (CONTENT_POLICY_CODES.has(code)) {
    errorClass = 'content_policy';
    retryable = false;
  }
  const message =
    parsed.success && parsed.data.message
      ? parsed.data.message
      : typeof details === 'string'
        ? details.slice(0, 200)
        : 'no error message';
  return new ProviderError({
    provider,
    message: `${provider} answered ${status}: ${message}`,
    status,
    errorClass,
    retryable,
    retryAfterMs: retryAfterMs(header),
    body: details,
  });
}

/**
 * Turns whatever a provider call threw into a {@link ProviderError}. `timedOut` tells an abort
 * by genloop's per-attempt timeout apart from the caller going away. `aborted` says the call's
 * own signal fired, whatever error that made the transport throw: servers abort a request's
 * signal with reasons of their own (a plain `Error`), and a call cut short by its caller is a
 * cancel, not a provider failure to fall back from or to count toward a cooldown.
 */
export function toProviderError(
  provider: ProviderName,
  error: unknown,
  timedOut: boolean,
  aborted = false,
): ProviderError {
  if (error instanceof ProviderError) return error;
  if (aborted || isAbortError(error)) {
    return timedOut
      ? new ProviderError({
          provider,
          message: 'provider call timed out',
          errorClass: 'timeout',
          retryable: true,
          cause: error,
        })
      : new ProviderError({
          provider,
          message: 'call canceled',
          errorClass: 'canceled',
          retryable: false,
          cause: error,
        });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError({
    provider,
    message,
    errorClass: 'unknown',
    retryable: false,
    cause: error,
  });
}

/** Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(
  header: ((name: string) => string | null) | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!header) return undefined;
  const ms = header('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = header('retry-after');
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** The abort reason genloop's per-attempt timeout uses, so a timeout is told from a cancel. */
export class AttemptTimeout extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`attempt timed out after ${timeoutMs} ms`);
  }
}

/**
 * {@link toProviderError} for a call made under `signal` (its `AbortSignal` or `Cancellation`):
 * whether the signal fired, and whether genloop's per-attempt timeout fired it, are read from it.
 */
export function callError(
  provider: ProviderName,
  error: unknown,
  signal: { aborted: boolean; reason: unknown },
): ProviderError {
  return toProviderError(provider, error, abortedByTimeout(signal), signal.aborted);
}

/** True when `signal` was aborted by genloop's per-attempt timeout. */
export function abortedByTimeout(signal: { aborted: boolean; reason: unknown }): boolean {
  return signal.aborted && signal.reason instanceof AttemptTimeout;
}
