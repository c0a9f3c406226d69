import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, assembleGenloop } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import type { ResolvedConfig } from '../../src/config/schema.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { Interior } from '../../src/recipes/interior/index.ts';
import type { Services } from '../../src/services.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { createTestDatabase, type DriverName, type TestDatabase } from '../helpers/db.ts';
import { eventually, FAST_SERVICE_OPTIONS, TEST_JWT_SECRET, testToken } from '../helpers/stack.ts';

/**
 * genloop with every route mounted, as `serve` mounts it: the generation recipes, the gateway,
 * the interior flow (uploads, renders, files) and Replicate's webhook. The app is driven
 * in-process; a real server exists too, because the simulator delivers Replicate webhooks to
 * the address a generation was submitted on. Workers run both recipes and are started on demand.
 */
export interface SecurityStack {
  driver: DriverName;
  database: TestDatabase;
  config: ResolvedConfig;
  services: Services;
  interior: Interior;
  simulator: Awaited<ReturnType<typeof startSimulator>>;
  app: App;
  server: RunningServer;
  token(userId?: string, role?: 'authenticated' | 'service_role'): Promise<string>;
  startWorker(): Promise<Worker>;
  stopWorkers(): Promise<void>;
  /** A request over HTTP (the address webhooks and signed links are built from). */
  fetch(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startSecurityStack(driver: DriverName): Promise<SecurityStack> {
  const database = await createTestDatabase(driver);
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    webhookRetryDelaysMs: [50, 100, 200],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'genloop-security-'));
  const config = resolveConfig({
    env: {
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'on',
      GENLOOP_LOG_LEVEL: 'silent',
      GENLOOP_DATA_DIR: dataDir,
      GENLOOP_STORAGE_DIR: join(dataDir, 'storage'),
    },
  });
  const logger = createLogger(config);
  const genloop = await assembleGenloop(config, database.db, logger, {
    services: { simulatorUrl: simulator.url, ...FAST_SERVICE_OPTIONS },
    interior: {
      backoff: { baseMs: 5, capMs: 20 },
      // The webhook is what normally ends a job; a short poll only guards against a lost one.
      pollDelays: { initialMs: 1_000, maxMs: 2_000 },
    },
  });
  const { services, app } = genloop;
  const interior = genloop.interior!;
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  let workers: Worker[] = [];

  const stack: SecurityStack = {
    driver,
    database,
    config,
    services,
    interior,
    simulator,
    app,
    server,
    token: (userId = randomUUID(), role = 'authenticated') => testToken(userId, role),
    async startWorker() {
      const worker = new Worker({
        db: database.db,
        logger,
        handlers: genloop.handlers,
        concurrency: 4,
        leaseMs: 5_000,
        pollMs: 50,
        runningTimeoutMs: 600_000,
        metrics: services.metrics,
      });
      await worker.start();
      workers.push(worker);
      return worker;
    },
    async stopWorkers() {
      const stopping = workers;
      workers = [];
      await Promise.all(stopping.map((worker) => worker.stop(1_000)));
    },
    async fetch(path, init = {}) {
      const { token, headers, ...rest } = init;
      return fetch(`${server.url}${path}`, {
        ...rest,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(headers as Record<string, string> | undefined),
        },
      });
    },
    async close() {
      await stack.stopWorkers();
      await server.close();
      await genloop.close();
      await simulator.close();
      await database.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** The objects one user owns after running both flows to the end, by kind. */
export interface OwnedObjects {
  userId: string;
  token: string;
  /** A flashcard generation that succeeded, with its suggestions. */
  flashcardGeneration: string;
  /** Its suggestions, in order: the first accepted (it has a card), the rest proposed. */
  suggestions: string[];
  card: string;
  /** A flashcard generation still pending (no worker ran it): cancelable. */
  pendingFlashcardGeneration: string;
  /** An interior generation that succeeded, with its render. */
  interiorGeneration: string;
  render: string;
  /** Replicate's id of the interior generation's prediction. */
  predictionId: string;
  /** An interior generation still pending: cancelable. */
  pendingInteriorGeneration: string;
}

const SOURCE_TEXT =
  'The Great Barrier Reef is the largest coral reef system in the world. It lies off the coast of Queensland. ' +
  'It is composed of over 2,900 individual reefs and 900 islands. It stretches for over 2,300 kilometres. ';

// biome-ignore lint/suspicious/noExplicitAny: the flows read fields of arbitrary JSON answers.
async function ok(response: Response, status: number): Promise<Record<string, any>> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`expected ${status}, got ${response.status}: ${text.slice(0, 500)}`);
  }
  return text === '' ? {} : JSON.parse(text);
}

/**
 * Runs the flashcard and interior flows to completion for `count` fresh users, through the
 * API and a worker, accepts each user's first suggestion, then stops the worker and leaves one
 * job of each recipe pending per user (a worker would otherwise run it).
 */
export async function createOwnedObjects(
  stack: SecurityStack,
  count: number,
): Promise<OwnedObjects[]> {
  const json = { 'content-type': 'application/json' };
  const users = await Promise.all(
    Array.from({ length: count }, async () => {
      const userId = randomUUID();
      return { userId, token: await stack.token(userId) };
    }),
  );
  await stack.startWorker();
  let finished: Omit<
    OwnedObjects,
    'pendingFlashcardGeneration' | 'pendingInteriorGeneration' | 'predictionId'
  >[];
  try {
    finished = await Promise.all(
      users.map(async ({ userId, token }) => {
        const flashcards = await ok(
          await stack.fetch('/api/ai/generations', {
            method: 'POST',
            token,
            headers: json,
            body: JSON.stringify({ source_text: SOURCE_TEXT.repeat(8) }),
          }),
          202,
        );
        const interior = await ok(
          await stack.fetch('/api/v1/generations', {
            method: 'POST',
            token,
            headers: json,
            body: JSON.stringify({
              mode: 'imagine',
              prompt: 'a sunroom with terracotta tiles',
              quality: 'draft',
              variants: 2,
            }),
          }),
          202,
        );
        const flashcardGeneration: string = flashcards.generation_id;
        const interiorGeneration: string = interior.id;
        await waitUntilDone(stack, token, `/api/ai/generations/${flashcardGeneration}`);
        const done = await waitUntilDone(stack, token, `/api/v1/generations/${interiorGeneration}`);
        if (!done.render_id || done.variants.length === 0) throw new Error('no render variants');
        const suggestions = (
          await ok(
            await stack.fetch(`/api/ai/suggestions?generation_id=${flashcardGeneration}`, {
              token,
            }),
            200,
          )
        ).data.map((suggestion: { id: string }) => suggestion.id) as string[];
        if (suggestions.length < 4) throw new Error(`only ${suggestions.length} suggestions`);
        const card = await ok(
          await stack.fetch(`/api/ai/suggestions/${suggestions[0]}/accept`, {
            method: 'POST',
            token,
          }),
          201,
        );
        return {
          userId,
          token,
          flashcardGeneration,
          suggestions,
          card: card.id as string,
          interiorGeneration,
          render: done.render_id as string,
        };
      }),
    );
  } finally {
    await stack.stopWorkers();
  }
  const owned: OwnedObjects[] = [];
  for (const objects of finished) {
    const { token } = objects;
    const pendingFlashcards = await ok(
      await stack.fetch('/api/ai/generations', {
        method: 'POST',
        token,
        headers: json,
        body: JSON.stringify({ source_text: `pending ${SOURCE_TEXT.repeat(8)}` }),
      }),
      202,
    );
    const pendingInterior = await ok(
      await stack.fetch('/api/v1/generations', {
        method: 'POST',
        token,
        headers: json,
        body: JSON.stringify({ mode: 'imagine', prompt: 'a loft', quality: 'draft' }),
      }),
      202,
    );
    const { rows } = await stack.database.db.query<{ provider_prediction_id: string }>(
      'select provider_prediction_id from public.ai_generations where id = $1',
      [objects.interiorGeneration],
    );
    owned.push({
      ...objects,
      pendingFlashcardGeneration: pendingFlashcards.generation_id,
      pendingInteriorGeneration: pendingInterior.id,
      predictionId: rows[0]!.provider_prediction_id,
    });
  }
  return owned;
}

/** Polls a generation until it leaves pending and running; it must have succeeded. */
// biome-ignore lint/suspicious/noExplicitAny: the flows read fields of arbitrary JSON answers.
function waitUntilDone(stack: SecurityStack, token: string, path: string): Promise<any> {
  return eventually(async () => {
    const body = await ok(await stack.fetch(path, { token }), 200);
    if (body.status === 'pending' || body.status === 'running') return undefined;
    if (body.status !== 'succeeded') throw new Error(`${path} ended ${body.status}`);
    return body;
  }, 30_000);
}
