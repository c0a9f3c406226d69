import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe } from 'vitest';
import { type App, assembleGenloop } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import type { ResolvedConfig } from '../../src/config/schema.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { Services } from '../../src/services.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { createTestDatabase, type DriverName, drivers, type TestDatabase } from './db.ts';

/** Service options that keep fault tests quick: short backoff, cooldown refresh and flushes. */
export const FAST_SERVICE_OPTIONS = {
  router: { backoff: { baseMs: 5, capMs: 20 } },
  cooldown: { refreshMs: 20 },
  telemetry: { flushIntervalMs: 5 },
};

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** A one-hour JWT for `userId` that the test stacks accept (signed with TEST_JWT_SECRET). */
export function testToken(userId: string = randomUUID(), role = 'authenticated'): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

export interface Stack {
  database: TestDatabase;
  config: ResolvedConfig;
  services: Services;
  app: App;
  simulator: Awaited<ReturnType<typeof startSimulator>>;
  /** A bearer token for a user (a fresh one when no id is given). */
  token(userId?: string, role?: 'authenticated' | 'service_role'): Promise<string>;
  /** Starts a real HTTP server for SDK clients (once). */
  listen(): Promise<RunningServer>;
  /** Starts a job worker in this process. */
  startWorker(options?: {
    concurrency?: number;
    leaseMs?: number;
    pollMs?: number;
  }): Promise<Worker>;
  close(): Promise<void>;
}

/**
 * genloop assembled as `serve` assembles it, on a test database (a fresh clone of the migrated
 * template unless one is given), with every provider served by an in-process simulator and
 * backoff shortened so fault tests run quickly.
 */
export async function startStack(
  driver: DriverName,
  env: Record<string, string> = {},
  given?: TestDatabase,
): Promise<Stack> {
  const database = given ?? (await createTestDatabase(driver));
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0 });
  const config = resolveConfig({
    env: {
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'on',
      GENLOOP_LOG_LEVEL: 'silent',
      ...env,
    },
  });
  const logger = createLogger(config);
  const genloop = await assembleGenloop(config, database.db, logger, {
    services: { simulatorUrl: simulator.url, ...FAST_SERVICE_OPTIONS },
    interior: false,
  });
  const { services, app } = genloop;
  let server: RunningServer | undefined;
  const workers: Worker[] = [];
  return {
    database,
    config,
    services,
    app,
    simulator,
    token: testToken,
    async listen() {
      server ??= await startServer(app, { host: '127.0.0.1', port: 0 });
      return server;
    },
    async startWorker(options = {}) {
      const worker = new Worker({
        db: database.db,
        logger,
        handlers: genloop.handlers,
        concurrency: options.concurrency ?? 4,
        leaseMs: options.leaseMs ?? 5_000,
        pollMs: options.pollMs ?? 100,
        runningTimeoutMs: 600_000,
        metrics: services.metrics,
      });
      await worker.start();
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.stop(1_000)));
      await server?.close();
      await genloop.close();
      await simulator.close();
      await database.dispose();
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Declares the suite once per driver, each with its own fixture started before its tests and
 * closed after them. `use()` hands the running fixture to the tests.
 */
export function describeEachWith<T extends { close(): Promise<void> }>(
  name: string,
  start: (driver: (typeof drivers)[number]) => Promise<T>,
  body: (use: () => T, driver: (typeof drivers)[number]) => void,
): void {
  for (const driver of drivers) {
    describe(`${name} [${driver}]`, () => {
      let fixture: T | undefined;
      beforeAll(async () => {
        fixture = await start(driver);
      });
      afterAll(async () => {
        await fixture?.close();
      });
      body(() => {
        if (!fixture) throw new Error(`${name}: not started`);
        return fixture;
      }, driver);
    });
  }
}

/** Declares the suite once per driver, each with its own stack. */
export function describeEachStack(
  name: string,
  body: (use: () => Stack, driver: (typeof drivers)[number]) => void,
  env: Record<string, string> = {},
): void {
  describeEachWith(name, (driver) => startStack(driver, env), body);
}
