import { RouteError } from '../routing/router.ts';
import { HttpError } from './http-error.ts';

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

export { RouteError };
