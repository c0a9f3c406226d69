import type { ErrorClass, ProviderError } from '../providers/errors.ts';
import type { AttemptRecord, RouteMetadata } from './types.ts';

export type RouteErrorCode =
  | 'no_provider_available'
  | 'provider_not_enabled'
  | 'all_providers_failed'
  | 'request_rejected'
  /** The caller's budget could not cover a further attempt after a paid one. */
  | 'budget_exceeded';

export interface RouteErrorInit {
  code: RouteErrorCode;
  message: string;
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
  lastError?: ProviderError | undefined;
  /** What stopped the route when it was not a provider (the budget's refusal). */
  cause?: unknown;
}

/** No provider could serve: why, with everything tried. */
export class RouteError extends Error {
  override readonly name = 'RouteError';
  readonly code: RouteErrorCode;
  readonly metadata: RouteMetadata;
  readonly attempts: AttemptRecord[];
  readonly lastError: ProviderError | undefined;

  constructor({ code, message, metadata, attempts, lastError, cause }: RouteErrorInit) {
    super(message, { cause: cause ?? lastError });
    this.code = code;
    this.metadata = metadata;
    this.attempts = attempts;
    this.lastError = lastError;
  }
}

/** Failures of the request itself: another provider would refuse it too, or the caller left. */
const REJECTING: ReadonlySet<ErrorClass> = new Set(['bad_request', 'content_policy', 'canceled']);

/** True when `error` ends the whole route instead of moving on to a retry or the next provider. */
export function rejectsRequest(error: ProviderError): boolean {
  return REJECTING.has(error.errorClass);
}

/** The error of a route that tried providers and got no answer. */
export function failedRoute({
  metadata,
  attempts,
  lastError,
}: {
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
  lastError: ProviderError | undefined;
}): RouteError {
  const rejected = lastError !== undefined && rejectsRequest(lastError);
  return new RouteError({
    code: rejected ? 'request_rejected' : 'all_providers_failed',
    message: rejected
      ? `${lastError.provider} rejected the request (${lastError.errorClass})`
      : `every provider failed (${attempts.length} attempts); last: ${lastError?.message ?? 'none'}`,
    metadata,
    attempts,
    lastError,
  });
}
