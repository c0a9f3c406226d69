import type { ErrorClass } from '../providers/errors.ts';
import type { ProviderName } from '../providers/types.ts';

export const ROUTE_STRATEGIES = ['single_provider', 'weighted', 'fallback'] as const;
export type RouteStrategy = (typeof ROUTE_STRATEGIES)[number];

/** One enabled row of `ai_provider_configs`, as the router uses it. */
export interface ProviderConfig {
  provider: ProviderName;
  environment: string;
  isDefault: boolean;
  weight: number;
  timeoutMs: number;
  maxRetries: number;
  model: string | null;
  promptTemplateVersion: string;
  metadata: Record<string, unknown>;
}

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

/** The seed 000 runtime fields, returned to the caller and written to telemetry. */
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
