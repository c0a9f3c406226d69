import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type App, assembleGenloop } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import type { ResolvedConfig } from '../../src/config/schema.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { Interior } from '../../src/recipes/interior/index.ts';
import type { Services } from '../../src/services.ts';
import { type SimulatorOptions, signWebhook, startSimulator } from '../../src/simulator/index.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { createTestDatabase, type DriverName, type TestDatabase } from '../helpers/db.ts';
import {
  describeEachWith,
  eventually,
  FAST_SERVICE_OPTIONS,
  TEST_JWT_SECRET,
  testToken,
} from '../helpers/stack.ts';

export interface InteriorStackOptions {
  env?: Record<string, string>;
  /** The worker's poll of a running prediction. Long by default, so a webhook is what ends a job. */
  pollDelays?: { initialMs: number; maxMs: number };
  /** DNS of asset downloads (SSRF tests point names at chosen addresses). */
  assetLookup?: LookupFunction;
  /** A store other than the configured local folder (the S3 driver against s3rver). */
  store?: BlobStore;
  simulator?: Partial<SimulatorOptions>;
  /** Workers run every recipe's jobs (flashcards too), not only the interior flow's. */
  allRecipes?: boolean;
}

export interface InteriorStack {
  driver: DriverName;
  database: TestDatabase;
  config: ResolvedConfig;
  services: Services;
  interior: Interior;
  simulator: Awaited<ReturnType<typeof startSimulator>>;
  server: RunningServer;
  /** The local driver's folder (empty when another store is used). */
  storageDir: string;
  /** The app, driven in-process (webhooks and signed links still need {@link server}). */
  app: App;
  token(userId?: string, role?: 'authenticated' | 'service_role'): Promise<string>;
  /** A worker running interior jobs in this process; stopped by {@link stopWorkers} or close. */
  startWorker(options?: { runningTimeoutMs?: number; leaseMs?: number }): Promise<Worker>;
  stopWorkers(): Promise<void>;
  /** A request to genloop over HTTP (so the simulator can call the webhook back). */
  fetch(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** Posts a webhook signed with the simulator's secret (or `secret`). */
  postWebhook(
    body: string | Uint8Array,
    options?: {
      id?: string;
      timestamp?: number;
      secret?: string;
      headers?: Record<string, string | undefined>;
    },
  ): Promise<Response>;
  /** Every stored file under the local driver's folder, relative to it (`<bucket>/<path>`). */
  storedFiles(): string[];
  close(): Promise<void>;
}

/**
 * genloop with the interior flow wired as `serve` wires it, on a test database: a real HTTP
 * server (Replicate's webhooks need an address), the in-process simulator serving Replicate,
 * the local storage driver in a temporary folder, short backoff. Workers are started per test.
 */
export async function startInteriorStack(
  driver: DriverName,
  options: InteriorStackOptions = {},
): Promise<InteriorStack> {
  const database = await createTestDatabase(driver);
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    webhookRetryDelaysMs: [50, 100, 200],
    ...options.simulator,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'genloop-interior-'));
  const storageDir = join(dataDir, 'storage');
  const config = resolveConfig({
    env: {
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'on',
      GENLOOP_LOG_LEVEL: 'silent',
      GENLOOP_DATA_DIR: dataDir,
      GENLOOP_STORAGE_DIR: storageDir,
      ...options.env,
    },
  });
  const logger = createLogger(config);
  const genloop = await assembleGenloop(config, database.db, logger, {
    services: { simulatorUrl: simulator.url, ...FAST_SERVICE_OPTIONS },
    interior: {
      backoff: { baseMs: 5, capMs: 20 },
      pollDelays: options.pollDelays ?? { initialMs: 30_000, maxMs: 30_000 },
      ...(options.assetLookup ? { assetLookup: options.assetLookup } : {}),
      ...(options.store ? { store: options.store } : {}),
    },
  });
  const { services, app } = genloop;
  const interior = genloop.interior!;
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  let workers: Worker[] = [];

  const stack: InteriorStack = {
    driver,
    database,
    config,
    services,
    interior,
    simulator,
    server,
    storageDir: options.store ? '' : storageDir,
    app,
    token: (userId = randomUUID(), role = 'authenticated') => testToken(userId, role),
    async startWorker(workerOptions = {}) {
      const worker = new Worker({
        db: database.db,
        logger,
        handlers: options.allRecipes ? genloop.handlers : { interior: interior.handler },
        concurrency: 4,
        leaseMs: workerOptions.leaseMs ?? 3_000,
        pollMs: 50,
        runningTimeoutMs: workerOptions.runningTimeoutMs ?? 600_000,
        metrics: services.metrics,
      });
      await worker.start();
      workers.push(worker);
      return worker;
    },
    async stopWorkers() {
      const stopping = workers;
      workers = [];
      await Promise.all(stopping.map((worker) => worker.stop(500)));
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
    async postWebhook(body, webhook = {}) {
      const id = webhook.id ?? `msg_${randomUUID().replaceAll('-', '')}`;
      const timestamp = webhook.timestamp ?? Math.floor(Date.now() / 1000);
      const signature = signWebhook(
        webhook.secret ?? simulator.webhookSecret,
        id,
        timestamp,
        typeof body === 'string' ? body : Buffer.from(body),
      );
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      };
      for (const [name, value] of Object.entries(webhook.headers ?? {})) {
        if (value === undefined) delete headers[name];
        else headers[name] = value;
      }
      return fetch(`${server.url}/api/v1/webhooks/replicate`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
    },
    storedFiles() {
      if (options.store) return [];
      return listFiles(storageDir).map((file) => relative(storageDir, file));
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

function listFiles(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** Declares the suite once per driver, each with its own interior stack. */
export function describeEachInteriorStack(
  name: string,
  body: (use: () => InteriorStack) => void,
  options: InteriorStackOptions = {},
): void {
  describeEachWith(name, (driver) => startInteriorStack(driver, options), body);
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read fields of arbitrary JSON answers.
export const json = async (response: Response) => (await response.json()) as Record<string, any>;

/** A multipart body with the given text fields and image files (all under `images`). */
export function form(
  fields: Record<string, string | number>,
  images: readonly (Uint8Array | { bytes: Uint8Array; name: string; type?: string })[] = [],
): FormData {
  const body = new FormData();
  for (const [key, value] of Object.entries(fields)) body.append(key, String(value));
  images.forEach((image, index) => {
    const file = image instanceof Uint8Array ? { bytes: image, name: `photo-${index}.jpg` } : image;
    body.append(
      'images',
      new Blob([file.bytes], { type: ('type' in file && file.type) || 'image/jpeg' }),
      file.name,
    );
  });
  return body;
}

/** Submits a generation as `token`'s user. */
export function submit(
  stack: InteriorStack,
  token: string,
  body: FormData | Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return stack.fetch('/api/v1/generations', {
    method: 'POST',
    token,
    headers:
      body instanceof FormData ? headers : { 'content-type': 'application/json', ...headers },
    body: body instanceof FormData ? body : JSON.stringify(body),
  });
}

/** Reads the generation until its status is one of `statuses`. */
export async function waitForStatus(
  stack: InteriorStack,
  token: string,
  id: string,
  statuses: readonly string[] = ['succeeded', 'failed', 'canceled', 'timed_out'],
  timeoutMs = 15_000,
) {
  return eventually(async () => {
    const body = await json(await stack.fetch(`/api/v1/generations/${id}`, { token }));
    return statuses.includes(body.status) ? body : undefined;
  }, timeoutMs);
}

/** A job's row, read as the service role. */
export async function jobRow(stack: InteriorStack, id: string) {
  const { rows } = await stack.database.db.query<{
    status: string;
    provider_prediction_id: string | null;
    error: Record<string, unknown> | null;
    attempts: number;
  }>(
    'select status, provider_prediction_id, error, attempts from public.ai_generations where id = $1',
    [id],
  );
  return rows[0];
}

/** The user's ledger entries, oldest first, as `kind:amount`. */
export async function ledger(stack: InteriorStack, userId: string): Promise<string[]> {
  const { rows } = await stack.database.db.query<{ kind: string; amount: number }>(
    'select kind, amount from public.usage_ledger where user_id = $1 order by created_at, kind',
    [userId],
  );
  return rows.map((row) => `${row.kind}:${row.amount}`);
}

export { eventually };

/**
 * A job whose worker died right after creating its prediction: accepted over HTTP, then marked
 * running with the prediction attached and no lease, as a crashed worker leaves it. The
 * prediction is a real one on the simulator (finished unless `faults` say otherwise), created
 * without a webhook so that the test delivers it. Needs no worker running.
 */
export async function orphanJob(
  stack: InteriorStack,
  options: { variants?: number; wait?: boolean; attach?: boolean } = {},
) {
  const userId = randomUUID();
  const token = await stack.token(userId);
  const created = await submit(stack, token, {
    mode: 'imagine',
    prompt: 'a sunroom with terracotta tiles',
    quality: 'draft',
    variants: options.variants ?? 1,
  });
  if (created.status !== 202) throw new Error(`submit failed: ${await created.text()}`);
  const { id } = await json(created);
  const client = stack.interior.deps.replicate!;
  let prediction = await client.create(
    {
      model: 'black-forest-labs/flux-schnell',
      input: { prompt: 'a sunroom', width: 64, height: 48, num_outputs: options.variants ?? 1 },
    },
    { timeoutMs: 5_000 },
  );
  const predictionId = prediction.id;
  const attach = async () => {
    const { rowCount } = await stack.database.db.query(
      `update public.ai_generations
          set status = 'running', attempts = 1, started_at = now(), provider = 'replicate',
              provider_prediction_id = $2, lease_until = null, locked_by = null
        where id = $1 and status = 'pending'`,
      [id, predictionId],
    );
    if (rowCount !== 1) throw new Error('the job was claimed by a worker');
  };
  if (options.attach !== false) await attach();
  if (options.wait !== false) {
    prediction = await eventually(async () => {
      const current = await client.get(prediction.id, { timeoutMs: 5_000 });
      return current.status === 'succeeded' ? current : undefined;
    });
  }
  return { id, userId, token, prediction, attach };
}
