import type { Db } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import { selectEnabledProviderConfigs } from '../sql/provider-configs.ts';
import type { ProviderConfig } from './types.ts';

export const PROVIDER_CONFIG_CHANNEL = 'genloop_provider_configs';

/**
 * The enabled `ai_provider_configs` rows of one environment, cached in memory. A trigger on the
 * table NOTIFYs every replica on change, which drops the cache; a reconnect of the listening
 * connection drops it too (a change may have been missed), and a TTL bounds staleness anyway.
 */
export class ProviderConfigCache {
  private cached: { configs: ProviderConfig[]; loadedAt: number } | undefined;
  private loading: Promise<ProviderConfig[]> | undefined;
  private generation = 0;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly db: Db,
    private readonly environment: string,
    private readonly options: { ttlMs?: number; logger?: Logger } = {},
  ) {}

  /** Subscribes to change notifications. */
  async start(): Promise<void> {
    this.unlisten = await this.db.listen(
      PROVIDER_CONFIG_CHANNEL,
      (payload) => {
        if (payload === '' || payload === this.environment) this.invalidate();
      },
      { onReconnect: () => this.invalidate() },
    );
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = undefined;
  }

  invalidate(): void {
    this.cached = undefined;
    this.generation++;
  }

  async get(): Promise<ProviderConfig[]> {
    const ttl = this.options.ttlMs ?? 30_000;
    if (this.cached && Date.now() - this.cached.loadedAt < ttl) return this.cached.configs;
    if (this.loading) return this.loading;
    const generation = this.generation;
    this.loading = selectEnabledProviderConfigs(this.db, this.environment)
      .then((configs) => {
        // A change notified while loading makes this result stale: keep it for this caller only.
        if (generation === this.generation) this.cached = { configs, loadedAt: Date.now() };
        return configs;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
