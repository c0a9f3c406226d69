import type { ResolvedConfig } from './config/schema.ts';
import type { Db } from './db/types.ts';
import { registerQueueDepth } from './jobs/queue-depth.ts';
import type { Logger } from './lib/logger.ts';
import { Metrics } from './lib/metrics.ts';
import { createProviders, type ProviderSet } from './providers/registry.ts';
import { ProviderConfigCache } from './routing/config-cache.ts';
import { Cooldown } from './routing/cooldown.ts';
import { Router, type RouterOptions } from './routing/router.ts';
import { TelemetryWriter } from './telemetry/writer.ts';

/** The long-lived parts every route and worker shares, built once per process. */
export interface Services {
  config: ResolvedConfig;
  db: Db;
  logger: Logger;
  providers: ProviderSet;
  configs: ProviderConfigCache;
  cooldown: Cooldown;
  router: Router;
  telemetry: TelemetryWriter;
  metrics: Metrics;
  /** Flushes telemetry and stops listening; the database stays open (its owner closes it). */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Base URL of a running simulator, required when any provider is served by it. */
  simulatorUrl?: string | undefined;
  /** Router tuning (tests shorten backoff). */
  router?: Partial<Pick<RouterOptions, 'backoff' | 'maxRetryWaitMs' | 'random'>>;
  cooldown?: { threshold?: number; cooldownMs?: number; refreshMs?: number };
  telemetry?: { flushIntervalMs?: number; maxBatch?: number };
}

export async function createServices(
  config: ResolvedConfig,
  db: Db,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Services> {
  const providers = createProviders(config, options.simulatorUrl);
  const configs = new ProviderConfigCache(db, config.environment, { logger });
  await configs.start();
  const cooldown = new Cooldown(db, config.environment, { ...options.cooldown, logger });
  await cooldown.refresh();
  const router = new Router({
    environment: config.environment,
    providers,
    configs,
    cooldown,
    ...options.router,
  });
  const metrics = new Metrics();
  registerQueueDepth(metrics, db);
  const telemetry = new TelemetryWriter(db, { ...options.telemetry, logger, metrics });
  return {
    config,
    db,
    logger,
    providers,
    configs,
    cooldown,
    router,
    telemetry,
    metrics,
    async close() {
      await telemetry.close();
      await configs.stop();
    },
  };
}
