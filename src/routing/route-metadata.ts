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
  environment,
  chosen = candidates[0],
}: {
  request: MetadataRequest;
  strategy: RouteStrategy;
  /** The providers in the order they will be tried (empty when none can serve). */
  candidates: readonly ProviderConfig[];
  /** `performance.now()` when the route began. */
  started: number;
  /** The routing environment whose configs planned the route. */
  environment: string;
  /** The strategy's first choice, before a cooldown moved it back (default: the first tried). */
  chosen?: ProviderConfig | undefined;
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
    plannedProvider: chosen?.provider ?? null,
    environment,
  };
}

/**
 * The metadata once the route ended at `candidates[index]`: the provider that answered, or on a
 * total failure the last one tried. The route fell back when that provider is not the strategy's
 * choice: a later one answered, or the choice was in cooldown and moved behind the others.
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
  // Also a fallback: the first provider tried answered because the strategy's choice was cold.
  const fallbackUsed =
    index > 0 || (planned.plannedProvider != null && config.provider !== planned.plannedProvider);
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
