import type { ProviderName } from '../providers/types.ts';
import type { ProviderConfig, RouteStrategy } from './types.ts';

export interface PlanInput {
  /** Enabled configs of the environment that can serve this request. */
  configs: readonly ProviderConfig[];
  strategy: RouteStrategy;
  /** The caller's preference; must be among `configs` (checked by the caller). */
  requested?: ProviderName | undefined;
  /** A recipe's own default, used instead of the environment default when enabled. */
  preferred?: ProviderName | undefined;
  /** Providers in cooldown: moved to the end, never dropped (a cold provider beats none). */
  coolingDown?: ReadonlySet<ProviderName>;
  /** [0, 1) source for weighted picks; injectable for tests. */
  random?: () => number;
}

/**
 * Orders the providers to try for one request:
 * - `single_provider`: the requested provider when enabled, else the default; nothing else.
 * - `fallback`: requested first, then the default, then the others by weight (desc).
 * - `weighted`: requested first when given; otherwise the first pick is drawn by weight (the
 *   canary's traffic share), then the rest follow by weight as fallbacks.
 */
export function planRoute(input: PlanInput): ProviderConfig[] {
  const { configs, strategy } = input;
  if (configs.length === 0) return [];
  const byName = new Map(configs.map((config) => [config.provider, config]));
  const defaultConfig = configs.find((config) => config.isDefault);
  const first =
    (input.requested && byName.get(input.requested)) ||
    (input.preferred && byName.get(input.preferred)) ||
    (strategy === 'weighted' ? weightedPick(configs, input.random ?? Math.random) : undefined) ||
    defaultConfig ||
    byWeight(configs)[0]!;

  if (strategy === 'single_provider') return [first];

  const rest = byWeight(configs.filter((config) => config !== first));
  if (defaultConfig && defaultConfig !== first && strategy === 'fallback') {
    rest.splice(rest.indexOf(defaultConfig), 1);
    rest.unshift(defaultConfig);
  }
  return moveCoolingToEnd([first, ...rest], input.coolingDown);
}

/**
 * Moves the providers in cooldown to the end of a planned order, keeping the order within each
 * part: a cold provider is tried last, never dropped (a cold provider beats none).
 */
export function moveCoolingToEnd(
  ordered: ProviderConfig[],
  cooling: ReadonlySet<ProviderName> | undefined,
): ProviderConfig[] {
  if (!cooling || cooling.size === 0) return ordered;
  return [
    ...ordered.filter((c) => !cooling.has(c.provider)),
    ...ordered.filter((c) => cooling.has(c.provider)),
  ];
}

function byWeight(configs: readonly ProviderConfig[]): ProviderConfig[] {
  return [...configs].sort((a, b) => b.weight - a.weight || a.provider.localeCompare(b.provider));
}

function weightedPick(
  configs: readonly ProviderConfig[],
  random: () => number,
): ProviderConfig | undefined {
  const total = configs.reduce((sum, config) => sum + config.weight, 0);
  if (total <= 0) return undefined;
  let ticket = random() * total;
  for (const config of byWeight(configs)) {
    ticket -= config.weight;
    if (ticket < 0) return config;
  }
  return undefined;
}
