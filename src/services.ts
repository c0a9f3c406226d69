import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BudgetGate } from './budgets/gate.ts';
import { SemanticIndex } from './cache/semantic-index.ts';
import type { ResolvedConfig } from './config/schema.ts';
import type { Db } from './db/types.ts';
import { EmbeddingService } from './embeddings/service.ts';
import { registerQueueDepth } from './jobs/queue-depth.ts';
import type { Logger } from './lib/logger.ts';
import { Metrics } from './lib/metrics.ts';
import { PriceBook, type PriceList, PriceListSchema } from './providers/pricing.ts';
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
  /** Prices of models: what every answered call cost. */
  prices: PriceBook;
  /** Dollar budgets: a reservation before each provider call, its settlement after. */
  budgets: BudgetGate;
  /** Embeddings routed, budgeted and recorded like chat calls. */
  embeddings: EmbeddingService;
  /** The semantic response cache's store (pgvector), when the database has it. */
  semanticIndex: SemanticIndex;
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
  /** The clock budgets read their period from (tests move it). */
  now?: () => Date;
}

export async function createServices(
  config: ResolvedConfig,
  db: Db,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Services> {
  const providers = createProviders(config, options.simulatorUrl);
  const prices = new PriceBook({ overrides: readPricesFile(config.cost.pricesFile), logger });
  const configs = new ProviderConfigCache(db, config.environment, { logger });
  await configs.start();
  const cooldown = new Cooldown(db, config.environment, { ...options.cooldown, logger });
  await cooldown.refresh();
  const router = new Router({
    environment: config.environment,
    providers,
    configs,
    cooldown,
    prices,
    ...options.router,
  });
  const budgets = new BudgetGate({
    db,
    prices,
    logger,
    defaultMaxOutputTokens: config.cost.budgetMaxOutputTokens,
    ...(options.now ? { now: options.now } : {}),
  });
  await budgets.start();
  const metrics = new Metrics();
  registerQueueDepth(metrics, db);
  const telemetry = new TelemetryWriter(db, { ...options.telemetry, logger, metrics });
  const embeddings = new EmbeddingService({ config, router, budgets, telemetry });
  const semanticIndex = new SemanticIndex({ db, logger, config, embeddings });
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
    prices,
    budgets,
    embeddings,
    semanticIndex,
    async close() {
      await telemetry.close();
      await configs.stop();
      await budgets.stop();
    },
  };
}

/** The operator's price list, checked at start: a bad file stops the server with its reason. */
function readPricesFile(path: string | undefined): PriceList | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new Error(`GENLOOP_PRICES_FILE: cannot read ${path}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`GENLOOP_PRICES_FILE: ${path} is not JSON`, { cause: error });
  }
  const parsed = PriceListSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `GENLOOP_PRICES_FILE: ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}; expected {"<model>": {"input": <USD per 1M tokens>, "output": <USD per 1M tokens>}}`,
    );
  }
  return parsed.data;
}
