import type { ProviderName } from '../providers/types.ts';
import { elapsedMs } from './elapsed.ts';
import type { ProviderConfig, RouteMetadata, RouteStrategy } from './types.ts';

/** What the metadata takes from the request (a RouteRequest has all of it). */
export interface MetadataRequest {
  requestId: string;
  requestedProvider?: ProviderName | undefined;
  templateVersion?(config: ProviderConfig): string;
}

/** The metadata of a planned route, before any provider answered. */
export function plannedMetadata({
  request,
  strategy,
  candidates,
  started,
}: {
  request: MetadataRequest;
  strategy: RouteStrategy;
  /** The providers in the order they will be tried (empty when none can serve). */
  candidates: readonly ProviderConfig[];
  /** `performance.now()` when the route began. */
  started: number;
}): RouteMetadata {
  const first = candidates[0];
  return {
    requestId: request.requestId,
    routeStrategy: strategy,
    requestedProvider: request.requestedProvider ?? null,
    selectedProvider: null,
    fallbackProvider: candidates[1]?.provider ?? null,
    fallbackUsed: false,
    latencyMs: elapsedMs(started),
    promptTemplateVersion:
      (first && request.templateVersion?.(first)) ?? first?.promptTemplateVersion ?? 'unknown',
    model: first?.model ?? null,
  };
}

/**
 * The metadata once the route ended at `candidates[index]`: the provider that answered, or on a
 * total failure the last one tried.
 */
export function servedMetadata({
  planned,
  request,
  candidates,
  index,
  started,
}: {
  planned: RouteMetadata;
  request: MetadataRequest;
  candidates: readonly ProviderConfig[];
  index: number;
  started: number;
}): RouteMetadata {
  const config = candidates[index]!;
  const fallbackUsed = index > 0;
  return {
    ...planned,
    selectedProvider: config.provider,
    fallbackUsed,
    // When the route fell back, the provider it fell back to; otherwise the first backup.
    fallbackProvider: fallbackUsed ? config.provider : (candidates[1]?.provider ?? null),
    latencyMs: elapsedMs(started),
    promptTemplateVersion: request.templateVersion?.(config) ?? config.promptTemplateVersion,
    model: config.model,
  };
}
