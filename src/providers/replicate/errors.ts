import { z } from 'zod';
import { abortedByTimeout, classifyStatus, ProviderError, retryAfterMs } from '../errors.ts';

/** Replicate's error body: a problem document (`detail`, `title`, `status`, `invalid_fields`). */
const errorBodySchema = z
  .object({
    detail: z.string().nullish(),
    title: z.string().nullish(),
    status: z.number().nullish(),
    invalid_fields: z
      .array(
        z
          .object({ field: z.string().optional(), description: z.string().optional() })
          .passthrough(),
      )
      .nullish(),
  })
  .passthrough();

/** Connection errors raised before a request could reach the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** The SDK's ApiError (not exported at runtime): it carries the failed Response. */
function apiErrorResponse(error: unknown): Response | undefined {
  if (!(error instanceof Error) || error.name !== 'ApiError') return undefined;
  const response = (error as Error & { response?: unknown }).response;
  return response instanceof Response ? response : undefined;
}

/**
 * Turns what a Replicate SDK call threw into a {@link ProviderError}: HTTP answers are
 * classified by status ({@link classifyStatus}) with Retry-After and the parsed problem body;
 * genloop's own timeout is `timeout`; the caller going away is `canceled`; a connection
 * failure is `network`.
 */
export function toReplicateError(
  error: unknown,
  options: { signal: AbortSignal; body?: unknown },
): ProviderError {
  if (error instanceof ProviderError) return error;
  const response = apiErrorResponse(error);
  if (response) {
    const parsed = errorBodySchema.safeParse(options.body);
    const detail = parsed.success ? (parsed.data.detail ?? parsed.data.title ?? '') : '';
    const { errorClass, retryable } = classifyStatus(response.status);
    return new ProviderError({
      provider: 'replicate',
      message: `replicate answered ${response.status}${detail ? `: ${detail}` : ''}`,
      status: response.status,
      errorClass,
      retryable,
      retryAfterMs: retryAfterMs((name) => response.headers.get(name)),
      body: options.body,
      cause: error,
    });
  }
  if (options.signal.aborted) {
    return abortedByTimeout(options.signal)
      ? new ProviderError({
          provider: 'replicate',
          message: 'replicate call timed out',
          errorClass: 'timeout',
          retryable: true,
          cause: error,
        })
      : new ProviderError({
          provider: 'replicate',
          message: 'call canceled',
          errorClass: 'canceled',
          retryable: false,
          cause: error,
        });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError({
    provider: 'replicate',
    message: `connection to replicate failed: ${message}`,
    errorClass: 'network',
    retryable: true,
    cause: error,
  });
}

/**
 * Whether a failed create may nevertheless have created a prediction, so that resending it
 * could pay for a second one: a 5xx, a timeout or a connection cut after sending may all have
 * happened after Replicate accepted it. Only answers that refuse the request (4xx, 429) and
 * connections that never opened are known not to have created one; only those are safe to
 * send again.
 */
export function createMayHaveHappened(error: ProviderError): boolean {
  if (error.status !== undefined) return error.status >= 500;
  if (error.errorClass === 'canceled') return true;
  if (error.errorClass === 'network') return !NOT_SENT_CODES.has(causeCode(error) ?? '');
  return true;
}

function causeCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
