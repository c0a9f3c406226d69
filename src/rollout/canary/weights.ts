import { TEXT_PROVIDERS } from '../../providers/types.ts';
import { ROUTE_STRATEGIES, type RouteStrategy } from '../../routing/types.ts';
import type { ProviderConfigState } from '../provider-state.ts';

/**
 * The routing columns a canary sets on one `ai_provider_configs` row; every other column keeps
 * its value. `strategy`: a strategy to write into `metadata.route_strategy`, `null` to remove
 * the key, `undefined` to leave the metadata as it is.
 */
export interface RoutingChange {
  provider: string;
  enabled: boolean;
  isDefault: boolean;
  weight: number;
  strategy?: RouteStrategy | null;
}

/** The rows the router routes text with: enabled text providers. */
function routable(rows: readonly ProviderConfigState[]): ProviderConfigState[] {
  return rows.filter(
    (row) => row.enabled && (TEXT_PROVIDERS as readonly string[]).includes(row.provider),
  );
}

/** The environment's strategy as the router reads it: the default row's, else fallback. */
export function strategyOf(rows: readonly ProviderConfigState[]): RouteStrategy {
  const declared = rows.find((row) => row.is_default)?.metadata?.route_strategy;
  return (ROUTE_STRATEGIES as readonly unknown[]).includes(declared)
    ? (declared as RouteStrategy)
    : 'fallback';
}

/**
 * The share of first tries a provider gets from these rows when no caller asks for a provider:
 * under `weighted` its weight out of the enabled text providers' total (all to the default when
 * that total is 0), otherwise all or nothing, by whether it is the default.
 */
export function firstTryShare(rows: readonly ProviderConfigState[], provider: string): number {
  const candidates = routable(rows);
  const row = candidates.find((entry) => entry.provider === provider);
  if (!row) return 0;
  const fallsToDefault = () => (row.is_default ? 1 : 0);
  if (strategyOf(rows) !== 'weighted') return fallsToDefault();
  const total = candidates.reduce((sum, entry) => sum + entry.weight, 0);
  return total > 0 ? row.weight / total : fallsToDefault();
}

/**
 * The changes that give `candidate` `weight` percent of first tries: the environment's strategy
 * becomes `weighted` (on its default row), the candidate is enabled at `weight`, and the other
 * enabled text providers share the rest in proportion to their weights before the canary (the
 * default takes it all when they had none). Disabled rows and image providers are not touched.
 * Computed from the baseline every time, so a step never compounds the one before it.
 */
export function stepChanges(
  baseline: readonly ProviderConfigState[],
  candidate: string,
  weight: number,
): RoutingChange[] {
  const others = routable(baseline).filter((row) => row.provider !== candidate);
  const shares = shareOut(100 - weight, others);
  const changes: RoutingChange[] = others.map((row, index) => ({
    provider: row.provider,
    enabled: true,
    isDefault: row.is_default,
    weight: shares[index]!,
    ...(row.is_default ? { strategy: 'weighted' as const } : {}),
  }));
  const own = baseline.find((row) => row.provider === candidate);
  changes.push({
    provider: candidate,
    enabled: true,
    isDefault: own?.is_default ?? false,
    weight,
    ...(own?.is_default ? { strategy: 'weighted' as const } : {}),
  });
  return changes;
}

/**
 * The changes of a promotion, said plainly in the configs: the candidate is the enabled default
 * at weight 100 and carries the environment's strategy from before the canary; the other enabled
 * text providers stay enabled (still fallbacks) at weight 0, and the former default no longer
 * names a strategy.
 */
export function promotionChanges(
  baseline: readonly ProviderConfigState[],
  candidate: string,
): RoutingChange[] {
  const strategy = strategyOf(baseline);
  const changes: RoutingChange[] = routable(baseline)
    .filter((row) => row.provider !== candidate)
    .map((row) => ({
      provider: row.provider,
      enabled: true,
      isDefault: false,
      weight: 0,
      ...(row.is_default ? { strategy: null } : {}),
    }));
  changes.push({ provider: candidate, enabled: true, isDefault: true, weight: 100, strategy });
  return changes;
}

/**
 * Whether the rows still route as the canary left them at `weight`: the candidate enabled at that
 * weight under `weighted`. Anything else means someone changed them meanwhile.
 */
export function describeDrift(
  current: readonly ProviderConfigState[],
  candidate: string,
  weight: number,
): string | undefined {
  const row = current.find((entry) => entry.provider === candidate);
  if (!row) return `the ${candidate} row is gone`;
  if (!row.enabled) return `${candidate} is disabled`;
  if (row.weight !== weight) return `${candidate} is at weight ${row.weight}, not ${weight}`;
  const strategy = strategyOf(current);
  if (strategy !== 'weighted') return `the route strategy is ${strategy}, not weighted`;
  return undefined;
}

/**
 * Splits `total` into whole numbers in proportion to the rows' weights, largest remainders
 * first so the parts add up exactly; when every weight is 0 the default (else the first row)
 * takes it all.
 */
export function shareOut(total: number, rows: readonly ProviderConfigState[]): number[] {
  if (rows.length === 0) return [];
  const sum = rows.reduce((acc, row) => acc + row.weight, 0);
  if (sum <= 0) {
    const taker = Math.max(
      0,
      rows.findIndex((row) => row.is_default),
    );
    return rows.map((_, index) => (index === taker ? total : 0));
  }
  const exact = rows.map((row) => (total * row.weight) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((acc, part) => acc + part, 0);
  const order = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (left <= 0) break;
    parts[index]!++;
    left--;
  }
  return parts;
}
