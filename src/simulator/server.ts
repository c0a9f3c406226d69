import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConfigError, toError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { handleChat } from './chat/handler.ts';
import { emptyStats, type SimulatorContext, type SimulatorStats } from './context.ts';
import {
  type FaultConfig,
  type FaultTable,
  parseFaultConfig,
  type SimulatedProvider,
} from './faults.ts';
import { BodyTooLargeError, readBody, sendJson } from './http.ts';
import { type LatencyConfig, LatencyTable } from './latency.ts';
import { Lifecycle } from './lifecycle.ts';
import { handleReplicate, handleReplicateFile } from './replicate/handler.ts';
import { PredictionStore } from './replicate/predictions.ts';
import { type WebhookDelivery, WebhookSender } from './replicate/webhooks.ts';
import { type RecordedRequest, RequestLog } from './request-log.ts';
import { generateWebhookSecret, webhookSecretKey } from './webhook-signature.ts';

export interface SimulatorOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; default 0 (a free one). */
  port?: number;
  /** Standard Webhooks secret (`whsec_<base64>`) for Replicate webhooks; default a fresh one. */
  webhookSecret?: string;
  /** Faults by target (`openai`, `openai/gpt-4o-mini`, `replicate/owner/model`), e.g. `{ openai: 'error:503' }`. */
  faults?: FaultConfig;
  /** Latency for every provider, or by target; default none. */
  latency?: LatencyConfig;
  /** Waits before retrying a final webhook that failed; default [1000, 2000, 5000, 10000, 20000]. */
  webhookRetryDelaysMs?: readonly number[];
  /** How long one webhook POST may take; default 10 s. */
  webhookTimeoutMs?: number;
  /** How many received requests `requests()` keeps (oldest dropped first); default 1000. */
  maxRecordedRequests?: number;
  /** After this, a finished prediction's files are gone and `data_removed` is true; default 1 h. */
  fileTtlMs?: number;
  /** Predictions kept in memory (finished ones are evicted first); default 10 000. */
  maxPredictions?: number;
  /** Largest request body accepted; default 10 MB. */
  bodyLimitBytes?: number;
  /** Base URL for links the simulator hands out, when clients reach it by another address. */
  publicUrl?: string;
  logger?: Logger;
}

/** A running simulator. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:40123`; providers live under their prefixes below it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The secret Replicate webhooks are signed with (also served at GET /replicate/v1/webhooks/default/secret). */
  readonly webhookSecret: string;
  /** The base URL to give each provider's SDK. */
  readonly baseUrls: Readonly<Record<SimulatedProvider, string>>;
  /** Received requests, oldest first, optionally filtered. */
  requests(filter?: {
    provider?: SimulatedProvider;
    method?: string;
    path?: string | RegExp;
  }): RecordedRequest[];
  /** Counters since start (or the last reset). */
  stats(): SimulatorStats;
  /** Webhook messages sent, with their attempts and outcome. */
  webhookDeliveries(): WebhookDelivery[];
  /** Resolves when no webhook is queued, in flight or waiting for a retry. */
  webhooksIdle(): Promise<void>;
  /** Clears the request log, the counters and the webhook log (predictions stay). */
  reset(): void;
  /** Replaces the configured faults (the header still wins per request). */
  setFaults(faults: FaultConfig): void;
  /** Replaces the latency configuration. */
  setLatency(latency: LatencyConfig | undefined): void;
  /** Stops: hanging requests end, sockets close, timers and webhook retries stop. */
  close(): Promise<void>;
}

const PREFIXES: readonly (readonly [string, SimulatedProvider])[] = [
  ['/openai/v1', 'openai'],
  ['/openrouter/api/v1', 'openrouter'],
  ['/custom/v1', 'custom'],
  ['/replicate/v1', 'replicate'],
];
const FILES_PREFIX = '/replicate/files';

/**
 * Starts the provider simulator: OpenAI, OpenRouter and a custom OpenAI-compatible server
 * (chat completions, JSON and SSE) and Replicate (predictions, output images, signed webhooks),
 * each under its own path prefix, with faults and latency injected per provider and model.
 *
 * @example
 * const simulator = await startSimulator({ faults: { 'openai/gpt-4o': 'error:429' } });
 * const openai = new OpenAI({ apiKey: 'sim', baseURL: simulator.baseUrls.openai });
 * // ...
 * await simulator.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const webhookSecret = options.webhookSecret ?? generateWebhookSecret();
  let faultTable: FaultTable;
  let latency: LatencyTable;
  try {
    webhookSecretKey(webhookSecret);
    faultTable = parseFaultConfig(options.faults);
    latency = new LatencyTable(options.latency);
  } catch (error) {
    throw new ConfigError(`simulator: ${toError(error).message}`, { cause: error });
  }

  const lifecycle = new Lifecycle();
  const log = new RequestLog(options.maxRecordedRequests ?? 1000);
  const bodyLimit = options.bodyLimitBytes ?? 10 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const server = createServer({ keepAliveTimeout: 5_000 });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const context: SimulatorContext = {
    lifecycle,
    stats: emptyStats(),
    logger: options.logger,
    publicUrl: '',
    faultTable: () => faultTable,
    latency: () => latency,
  };
  const webhooks = new WebhookSender(context, {
    secret: webhookSecret,
    retryDelaysMs: options.webhookRetryDelaysMs ?? [1_000, 2_000, 5_000, 10_000, 20_000],
    timeoutMs: options.webhookTimeoutMs ?? 10_000,
  });
  const store = new PredictionStore(context, webhooks, {
    fileTtlMs: options.fileTtlMs ?? 3_600_000,
    maxPredictions: options.maxPredictions ?? 10_000,
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    context.stats.requests += 1;
    const url = new URL(request.url ?? '/', 'http://simulator');
    const method = request.method ?? 'GET';
    const prefix = PREFIXES.find(
      ([path]) => url.pathname === path || url.pathname.startsWith(`${path}/`),
    );
    const isFile = url.pathname.startsWith(`${FILES_PREFIX}/`);
    const provider = prefix?.[1] ?? (isFile ? 'replicate' : undefined);

    // Aborted when the client goes away before the answer is complete (a hang or a slow stream
    // then stops); a response that finished closes without an abort, which would cost an
    // AbortError for every request.
    const controller = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) controller.abort();
    });

    let raw: Buffer = Buffer.alloc(0);
    if (method !== 'GET' && method !== 'HEAD') {
      try {
        raw = await readBody(request, bodyLimit);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          response.setHeader('connection', 'close');
          return sendJson(response, 413, {
            error: {
              message: error.message,
              type: 'invalid_request_error',
              code: 'request_too_large',
            },
          });
        }
        throw error;
      }
    }
    let body: unknown;
    let bodyInvalid = false;
    if (raw.length > 0) {
      const text = raw.toString('utf8');
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        bodyInvalid = true;
      }
    }
    log.add({
      provider,
      method,
      path: `${url.pathname}${url.search}`,
      headers: request.headers,
      body,
    });
    options.logger?.debug({ method, path: url.pathname, provider }, 'simulator request');

    if (!provider) {
      if (method === 'GET' && (url.pathname === '/' || url.pathname === '/healthz')) {
        return sendJson(response, 200, {
          service: 'genloop-simulator',
          status: 'ok',
          providers: simulator.baseUrls,
        });
      }
      return sendJson(response, 404, {
        error: {
          message: `No simulated provider at ${url.pathname}`,
          type: 'invalid_request_error',
          code: 'unknown_url',
        },
      });
    }
    const simulatorRequest = {
      provider,
      method,
      route: isFile
        ? url.pathname.slice(FILES_PREFIX.length)
        : url.pathname.slice(prefix![0].length) || '/',
      url,
      headers: request.headers,
      body: bodyInvalid ? undefined : body,
      bodyInvalid,
      signal: controller.signal,
      request,
      response,
    };
    if (isFile) return handleReplicateFile(store, simulatorRequest);
    if (provider === 'replicate')
      return handleReplicate(context, store, webhooks, simulatorRequest);
    return handleChat(context, simulatorRequest);
  }

  server.on('request', (request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A client that went away mid-body (or close() cutting it off) is not a simulator failure.
      if (lifecycle.closed || request.destroyed || response.destroyed) {
        options.logger?.debug({ err: error, path: request.url }, 'simulator: request ended early');
        return;
      }
      options.logger?.error({ err: error, path: request.url }, 'simulator: request failed');
      if (response.headersSent) response.destroy();
      else
        sendJson(response, 500, {
          error: {
            message: 'The simulator failed on this request.',
            type: 'server_error',
            code: null,
          },
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${urlHost(host)}:${port}`;
  context.publicUrl = (options.publicUrl ?? url).replace(/\/+$/, '');
  const base = context.publicUrl;

  let closing: Promise<void> | undefined;
  const simulator: Simulator = {
    url,
    host,
    port,
    webhookSecret,
    baseUrls: {
      openai: `${base}/openai/v1`,
      openrouter: `${base}/openrouter/api/v1`,
      custom: `${base}/custom/v1`,
      replicate: `${base}/replicate/v1`,
    },
    requests: (filter) => log.list(filter),
    stats: () => ({ ...context.stats }),
    webhookDeliveries: () => webhooks.deliveries(),
    webhooksIdle: () => webhooks.idle(),
    reset() {
      log.clear();
      webhooks.clear();
      Object.assign(context.stats, emptyStats());
    },
    setFaults(faults) {
      try {
        faultTable = parseFaultConfig(faults);
      } catch (error) {
        throw new ConfigError(`simulator: ${toError(error).message}`, { cause: error });
      }
    },
    setLatency(config) {
      try {
        latency = new LatencyTable(config);
      } catch (error) {
        throw new ConfigError(`simulator: ${toError(error).message}`, { cause: error });
      }
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        lifecycle.close();
        for (const socket of sockets) socket.destroy();
        await closed;
        await store.settle();
        await webhooks.idle();
      })();
      return closing;
    },
  };
  return simulator;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
