import type { LookupFunction } from 'node:net';
import type { JobHandler } from '../../jobs/types.ts';
import { createReplicateClient } from '../../providers/replicate/index.ts';
import type { BackoffOptions } from '../../routing/backoff.ts';
import type { Services } from '../../services.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import { createBlobStore } from '../../storage/create-store.ts';
import type { InteriorDeps } from './deps.ts';
import { interiorHandler } from './handler.ts';
import { type PollerOptions, PredictionPoller } from './poller.ts';
import { PredictionSignals } from './signals.ts';

export interface InteriorOptions {
  /** Base URL of the running simulator, when it serves Replicate. */
  simulatorUrl?: string | undefined;
  /** A store other than the configured one (tests). */
  store?: BlobStore;
  /** The fetch under the replicate SDK (tests count calls). */
  fetch?: typeof fetch;
  /** DNS lookup of asset downloads (tests resolve names to chosen addresses). */
  assetLookup?: LookupFunction;
  backoff?: BackoffOptions;
  pollDelays?: { initialMs: number; maxMs: number };
  poller?: PollerOptions;
}

/** The interior flow, wired: its shared dependencies, the worker handler and the backup poller. */
export interface Interior {
  deps: InteriorDeps;
  handler: JobHandler;
  poller: PredictionPoller;
  /** Starts listening for prediction wake-ups (call before workers run jobs). */
  start(): Promise<void>;
  /** Stops the poller and the listener; the database and store stay with their owners. */
  close(): Promise<void>;
}

/**
 * Builds the interior-design flow on top of the shared services: the blob store of the
 * configuration, the Replicate client as the serving plan says (real API, simulator, or none),
 * the asset download rules — the allow-list from configuration, plus the simulator's own origin
 * only while the simulator serves Replicate — and the webhook secret (REPLICATE_WEBHOOK_SECRET,
 * else fetched once from Replicate's `webhooks/default/secret`).
 */
export function createInterior(services: Services, options: InteriorOptions = {}): Interior {
  const { config, db, logger } = services;
  const replicate = createReplicateClient(config, options.simulatorUrl, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const trustedOrigins =
    replicate?.servedBy === 'simulator' && options.simulatorUrl
      ? [new URL(options.simulatorUrl).origin]
      : [];
  let secret: Promise<string | undefined> | undefined;
  const deps: InteriorDeps = {
    config,
    db,
    logger,
    store: options.store ?? createBlobStore(config.storage),
    replicate,
    prices: services.prices,
    budgets: services.budgets,
    async providerConfig() {
      return (await services.configs.get()).find((entry) => entry.provider === 'replicate');
    },
    signals: new PredictionSignals(db, logger),
    assets: {
      allowedHosts: config.interior.assetHosts,
      trustedOrigins,
      maxBytes: config.interior.assetMaxBytes,
      ...(options.assetLookup ? { lookup: options.assetLookup } : {}),
    },
    webhookSecret() {
      if (config.providers.replicateWebhookSecret) {
        return Promise.resolve(config.providers.replicateWebhookSecret);
      }
      if (!replicate) return Promise.resolve(undefined);
      secret ??= replicate.defaultWebhookSecret({ timeoutMs: 10_000 }).catch((error: unknown) => {
        logger.warn({ err: error }, 'fetching the Replicate webhook secret failed');
        secret = undefined;
        return undefined;
      });
      return secret;
    },
    backoff: options.backoff ?? {},
    pollDelays: options.pollDelays ?? { initialMs: 1_000, maxMs: 15_000 },
  };
  const poller = new PredictionPoller(deps, options.poller);
  return {
    deps,
    handler: interiorHandler(deps),
    poller,
    start: () => deps.signals.start(),
    async close() {
      await poller.stop();
      await deps.signals.stop();
    },
  };
}
