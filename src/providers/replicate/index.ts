import type { ResolvedConfig } from '../../config/schema.ts';
import { planServing } from '../registry.ts';
import { ReplicateClient } from './client.ts';

/**
 * The Replicate client of this process, served as {@link planServing} decides: the real API
 * with REPLICATE_API_TOKEN, the simulator at `${simulatorUrl}/replicate/v1`, or none (disabled).
 */
export function createReplicateClient(
  config: ResolvedConfig,
  simulatorUrl: string | undefined,
  options: { fetch?: typeof fetch } = {},
): ReplicateClient | undefined {
  const serving = planServing(config).find((entry) => entry.provider === 'replicate');
  if (!serving || serving.servedBy === 'disabled') return undefined;
  if (serving.servedBy === 'simulator') {
    if (simulatorUrl === undefined) {
      throw new Error('provider replicate needs the simulator, but none is running');
    }
    return new ReplicateClient({
      token: 'simulator',
      baseUrl: `${simulatorUrl}/replicate/v1`,
      servedBy: 'simulator',
      ...options,
    });
  }
  return new ReplicateClient({
    token: config.providers.replicateApiToken!,
    servedBy: 'api',
    ...options,
  });
}

export { ReplicateClient } from './client.ts';
