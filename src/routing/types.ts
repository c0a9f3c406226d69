import type { ErrorClass } from '../providers/errors.ts';
import type { ProviderName } from '../providers/types.ts';

export const ROUTE_STRATEGIES = ['single_provider', 'weighted', 'fallback'] as const;
export type RouteStrategy = (typeof ROUTE_STRATEGIES)[number];

export type { ProviderConfig } from '../sql/provider-configs.ts';

/** One provider call, as recorded in `ai_provider_attempts`. */
export interface AttemptRecord {
  attemptNo: number;
  provider: ProviderName;
  model: string | null;
  status: 'succeeded' | 'failed' | 'timeout' | 'aborted';
  errorClass: ErrorClass | null;
  httpStatus: number | null;
  latencyMs: number;
  ttfbMs: number | null;
  retryAfterMs: number | null;
  error: Record<string, unknown> | null;
  createdAt: Date;
}

/**
 * What one request's route did: which provider was asked for, which answered, whether it fell
 * back and how long it took. Returned to the caller and written to telemetry unchanged, so the
 * two always agree.
 */
export interface RouteMetadata {
  requestId: string;
  routeStrategy: RouteStrategy;
  requestedProvider: ProviderName | null;
  selectedProvider: ProviderName | null;
  fallbackProvider: ProviderName | null;
  fallbackUsed: boolean;
  latencyMs: number;
  promptTemplateVersion: string;
  model: string | null;
}
