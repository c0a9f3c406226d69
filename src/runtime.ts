import { type App, assembleGenloop } from './app.ts';
import { assertAuthConfigured, assertPublicUrlReachable } from './config/resolve.ts';
import type { ResolvedConfig } from './config/schema.ts';
import type { SignInCode } from './console/sign-in-code.ts';
import { migrate } from './db/migrator.ts';
import { openDb } from './db/open.ts';
import type { Db } from './db/types.ts';
import { type RunningServer, startServer } from './http/server.ts';
import { Worker } from './jobs/worker.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { planServing } from './providers/registry.ts';
import type { Interior } from './recipes/interior/index.ts';
import { CanaryController } from './rollout/canary/controller.ts';
import { CanaryNotifier } from './rollout/canary/notify.ts';
import type { ServiceOptions, Services } from './services.ts';
import { startSimulator } from './simulator/index.ts';
import { enableSemanticCache } from './sql/semantic-cache.ts';

export interface Runtime {
  config: ResolvedConfig;
  db: Db;
  logger: Logger;
  app: App;
  server: RunningServer;
  services: Services;
  /** The interior-design flow (photos, Replicate, storage, webhooks). */
  interior: Interior | undefined;
  /** The job worker, unless the role is `api`. */
  worker: Worker | undefined;
  /** The in-process simulator, when any provider is served by it. */
  simulatorUrl: string | undefined;
  /** Graceful stop: no new connections, in-flight requests finish, then the database closes. */
  stop(): Promise<void>;
}

export interface StartOptions {
  migrate?: boolean;
  /** `api` serves HTTP, `worker` runs jobs (and serves only health), `all` does both. */
  role?: 'api' | 'worker' | 'all';
  logger?: Logger;
  services?: ServiceOptions;
  /** The one-time code of the console link, which the console exchanges for a token. */
  signInCode?: SignInCode;
}

/**
 * Starts genloop as `genloop serve` does: opens the database, applies pending migrations,
 * builds the HTTP app and listens. Used by the CLI, the integration tests and the benchmarks.
 */
export async function startRuntime(
  config: ResolvedConfig,
  options: StartOptions = {},
): Promise<Runtime> {
  assertAuthConfigured(config);
  const logger = options.logger ?? createLogger(config);
  const db = await openDb(config, {
    onIdleError: (error) => logger.warn({ err: error }, 'database connection lost; reconnecting'),
  });
  let simulator: { url: string; close(): Promise<void> } | undefined;
  let services: Services | undefined;
  let interior: Interior | undefined;
  let worker: Worker | undefined;
  let canary: CanaryController | undefined;
  const notifier = new CanaryNotifier({ logger });
  try {
    if (options.migrate !== false) {
      // Behind a transaction-mode pooler, migrations go over the direct connection when given.
      const direct = config.databaseDirectUrl ? await openDb(config, { direct: true }) : db;
      try {
        await migrate(direct, {
          onApplied: (migration, ms) =>
            logger.info({ migration: migration.file, duration_ms: ms }, 'migration applied'),
        });
        const semantic = await enableSemanticCache(direct);
        logger.info(
          { semantic_cache: semantic },
          semantic
            ? 'semantic cache: on (pgvector)'
            : 'semantic cache: off (pgvector is not installed); semantic requests use the exact cache',
        );
      } finally {
        if (direct !== db) await direct.close();
      }
    }
    const serving = planServing(config);
    assertPublicUrlReachable(
      config,
      serving.find((entry) => entry.provider === 'replicate')?.servedBy ?? 'disabled',
    );
    if (serving.some((entry) => entry.servedBy === 'simulator')) {
      simulator = await startSimulator({
        host: '127.0.0.1',
        port: 0,
        ...(config.providers.replicateWebhookSecret
          ? { webhookSecret: config.providers.replicateWebhookSecret }
          : {}),
        logger,
      });
    }
    for (const entry of serving) {
      logger.info(
        { provider: entry.provider, served_by: entry.servedBy },
        `provider ${entry.provider}: ${entry.servedBy} (${entry.reason})`,
      );
    }
    const role = options.role ?? 'all';
    const genloop = await assembleGenloop(config, db, logger, {
      services: { ...options.services, simulatorUrl: simulator?.url },
      serveGenerations: role !== 'worker',
      signInCode: options.signInCode,
    });
    services = genloop.services;
    interior = genloop.interior;
    const { app } = genloop;
    if (role !== 'api') {
      worker = new Worker({
        db,
        logger,
        handlers: genloop.handlers,
        concurrency: config.jobs.concurrency,
        leaseMs: config.jobs.leaseMs,
        pollMs: config.jobs.pollMs,
        runningTimeoutMs: config.jobs.runningTimeoutMs,
        metrics: services.metrics,
      });
      await worker.start();
      interior?.poller.start();
    }
    // Every role runs the canary controller; only the one holding the database's lease acts.
    canary = new CanaryController({ db, logger, notifier });
    canary.start();
    const runningCanary = canary;
    const server = await startServer(app, { host: config.host, port: config.port });
    let stopping: Promise<void> | undefined;
    const running = services;
    const runningSimulator = simulator;
    const runningWorker = worker;
    const runningInterior = interior;
    return {
      config,
      db,
      logger,
      app,
      server,
      services: running,
      interior: runningInterior,
      worker: runningWorker,
      simulatorUrl: runningSimulator?.url,
      stop() {
        stopping ??= (async () => {
          // In-flight requests finish first, then their buffered telemetry is flushed.
          await Promise.all([server.close(), runningWorker?.stop(), runningCanary.stop()]);
          await notifier.flush(2_000);
          notifier.close();
          await runningInterior?.close();
          await running.close();
          await runningSimulator?.close();
          await db.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await canary?.stop().catch(() => {});
    notifier.close();
    await worker?.stop(0).catch(() => {});
    await interior?.close().catch(() => {});
    await services?.close().catch(() => {});
    await simulator?.close().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
}
