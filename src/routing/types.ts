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
  /** What the call cost in USD; null when it got no answer or its model has no price. */
  costUsd?: number | null;
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
  /**
   * The provider the route strategy chose first (the requested one, the recipe's own, the
   * weighted draw or the default), even when a cooldown moved it behind the others; null when
   * nothing was planned. A canary counts its share of traffic on it.
   */
  plannedProvider?: ProviderName | null;
  /** The routing environment (`GENLOOP_ENV`) whose configs planned the route. */
  environment?: string | null;
}
