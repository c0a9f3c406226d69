import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isConnectionFailure } from '../db/errors.ts';
import { SubmitRefused } from '../jobs/submit.ts';
import { DomainError, type DomainErrorKind } from '../lib/domain-errors.ts';
import { RouteError } from '../routing/router.ts';
import { HttpError } from './http-error.ts';

/** The one place a domain refusal becomes a status. */
const STATUS_OF_KIND: Readonly<Record<DomainErrorKind, ContentfulStatusCode>> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  refused: 422,
  over_budget: 402,
  unavailable: 503,
};

/**
 * The HTTP answer of an error a service threw: domain errors by their kind, refused
 * submissions and routing failures by their code, a lost database connection as 503; undefined
 * for anything else (a bug, which the error handler answers as a bare 500).
 */
export function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError) {
    return new HttpError(STATUS_OF_KIND[error.kind], error.code, error.message, {
      ...(error.detail === undefined ? {} : { detail: error.detail }),
      ...(error.errors === undefined ? {} : { errors: error.errors }),
      ...(error.retryAfterMs === undefined
        ? {}
        : {
            headers: { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) },
          }),
      cause: error,
    });
  }
  if (error instanceof SubmitRefused) return submitRefusalToHttp(error);
  if (error instanceof RouteError) return routeErrorToHttp(error);
  if (isConnectionFailure(error)) {
    return new HttpError(503, 'database_unavailable', 'the database is unavailable', {
      detail: 'the connection to the database failed and the request changed nothing; retry it',
      headers: { 'retry-after': '1' },
      cause: error,
    });
  }
  return undefined;
}

/** A refused submission: over the rate limit (429), the quota (402), or one already running (409). */
function submitRefusalToHttp(error: SubmitRefused): HttpError {
  switch (error.code) {
    case 'rate_limited': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new HttpError(429, 'rate_limited', 'too many requests', {
        detail: `${error.message}; retry after ${seconds} s`,
        headers: { 'retry-after': String(seconds) },
      });
    }
    case 'quota_exceeded':
      return new HttpError(402, 'quota_exceeded', 'generation quota exceeded', {
        detail: error.message,
      });
    case 'job_in_flight':
      return new HttpError(409, 'job_in_flight', 'a generation is already in progress', {
        detail: error.message,
      });
  }
}

/**
 * Maps a routing failure to the HTTP answer: 422 when the request named a provider that is
 * not enabled or the provider refused the content, 503 when nothing can serve, 502/504 when
 * every provider failed (504 when the last one timed out). `requestedField` is the body field
 * that named the provider: `body.provider` for the recipes, `body.model` on the gateway, where
 * a model pinned to a provider picks it.
 */
export function routeErrorToHttp(error: RouteError, requestedField = 'body.provider'): HttpError {
  switch (error.code) {
    case 'provider_not_enabled':
      return new HttpError(422, 'provider_not_enabled', 'requested provider is not enabled', {
        detail: error.message,
        errors: [{ field: requestedField, code: 'provider_not_enabled', message: error.message }],
      });
    case 'no_provider_available':
      return new HttpError(503, 'no_provider_available', 'no provider can serve this request', {
        detail: `${error.message}; enable one in ai_provider_configs`,
        headers: { 'retry-after': '30' },
      });
    case 'request_rejected':
      return new HttpError(
        422,
        error.lastError?.errorClass === 'content_policy'
          ? 'content_refused'
          : 'provider_rejected_request',
        'the provider rejected the request',
        { detail: error.message },
      );
    case 'budget_exceeded':
      return (
        toHttpError(error.cause) ??
        new HttpError(402, 'budget_exceeded', 'budget exceeded', { detail: error.message })
      );
    case 'all_providers_failed': {
      const timedOut = error.lastError?.errorClass === 'timeout';
      return new HttpError(
        timedOut ? 504 : 502,
        timedOut ? 'provider_timeout' : 'all_providers_failed',
        'generation failed',
        {
          detail: `${error.attempts.length} attempt(s) across the route failed; last error: ${error.lastError?.errorClass ?? 'unknown'}`,
        },
      );
    }
  }
}
