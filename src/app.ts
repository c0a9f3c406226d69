import type { ResolvedConfig } from './config/schema.ts';
import { consoleRoutes, SIGN_IN_PATH } from './console/index.ts';
import type { SignInCode } from './console/sign-in-code.ts';
import type { Db } from './db/types.ts';
import { outcomesRoutes } from './eval/routes.ts';
import {
  CHAT_COMPLETIONS_PATH,
  ChatCompletionRequestSchema,
  ChatCompletions,
} from './gateway/chat-completions.ts';
import { embeddingRoutes } from './gateway/embeddings-routes.ts';
import { chatCompletionRoutes } from './gateway/routes.ts';
import { createHttpApp, gatewayAuthenticator } from './http/app.ts';
import { createLane, type Lane } from './http/lane.ts';
import type { TokenVerifier } from './http/middleware/auth/index.ts';
import type { JobHandler } from './jobs/types.ts';
import type { Logger } from './lib/logger.ts';
import { flashcardHandler } from './recipes/flashcards/handler.ts';
import { flashcardRoutes } from './recipes/flashcards/routes.ts';
import { createInterior, type Interior, type InteriorOptions } from './recipes/interior/index.ts';
import { WEBHOOK_PATH } from './recipes/interior/replicate-input.ts';
import { GENERATIONS_PATH, interiorRoutes } from './recipes/interior/routes.ts';
import { generateSiteRoutes } from './recipes/site/routes.ts';
import { createServices, type ServiceOptions, type Services } from './services.ts';
import { fileRoutes } from './storage/routes.ts';

export interface AppDependencies {
  config: ResolvedConfig;
  db: Db;
  logger: Logger;
  /** Overrides token verification (tests use a JWKS served in-process). */
  verifier?: TokenVerifier;
  /** Router, telemetry and providers; the generation routes are mounted when given. */
  services?: Services;
  /** False for a worker-only process: health and metrics, no generation routes. */
  serveGenerations?: boolean;
  /** The interior flow: its generation, render, webhook and file routes are mounted when given. */
  interior?: Interior;
  /** The one-time code of the console link `genloop serve` prints in embedded mode. */
  signInCode?: SignInCode | undefined;
}

/**
 * genloop's composition root for HTTP: the shell from `http/` with every product slice's routes
 * mounted on it (site builder, flashcards, interior, the OpenAI-compatible gateway, outcomes
 * and stored files) and the operator console. `genloop serve` and every test stack build their
 * app here.
 */
export function createApp({
  config,
  db,
  logger,
  verifier,
  services,
  serveGenerations = true,
  interior,
  signInCode,
}: AppDependencies) {
  const gatewayAuth = gatewayAuthenticator(config, verifier);
  const app = createHttpApp({
    config,
    db,
    logger,
    verifier,
    gatewayAuthenticator: gatewayAuth,
    metrics: services?.metrics,
    unauthenticatedPaths: [SIGN_IN_PATH, ...(interior ? [WEBHOOK_PATH] : [])],
    ...(interior ? { uploadPaths: [GENERATIONS_PATH] } : {}),
  });
  const lanes: Lane[] = [];
  app.route('/', outcomesRoutes(db));
  if (serveGenerations) app.route('/', consoleRoutes({ db, config, signInCode }));
  if (services && serveGenerations) {
    app.route('/', generateSiteRoutes(services));
    const chat = new ChatCompletions(services);
    app.route('/', chatCompletionRoutes(chat));
    lanes.push(
      createLane({
        route: {
          path: CHAT_COMPLETIONS_PATH,
          schema: ChatCompletionRequestSchema,
          handle: (exchange, body) => chat.handle(exchange, body),
        },
        authenticate: gatewayAuth,
        logger,
        metrics: services.metrics,
        jsonLimitBytes: config.jsonLimitBytes,
        bodyLimitBytes: config.bodyLimitBytes,
        corsOrigins: config.corsOrigins,
      }),
    );
    app.route('/', embeddingRoutes(services.embeddings));
    app.route('/', flashcardRoutes(services));
    if (interior) {
      app.route('/', interiorRoutes(services, interior));
      app.route('/', fileRoutes(interior.deps.store));
    }
  }
  // A running server answers these before Hono (`startServer`); `app.request` goes to Hono.
  return Object.assign(app, { lanes });
}

export type App = ReturnType<typeof createApp>;

export interface AssembleOptions {
  /** Router, cooldown and telemetry tuning, and the simulator's address. */
  services?: ServiceOptions;
  /** The interior flow's wiring; `false` leaves the flow out (a text-only stack). */
  interior?: InteriorOptions | false;
  /** Overrides token verification (tests use a JWKS served in-process). */
  verifier?: TokenVerifier;
  /** False for a worker-only process: health and metrics, no generation routes. */
  serveGenerations?: boolean;
  /** The one-time code of the console link (embedded mode). */
  signInCode?: SignInCode | undefined;
}

/** genloop assembled: the shared services, each flow, the HTTP app and the job handlers. */
export interface Genloop {
  services: Services;
  interior: Interior | undefined;
  app: App;
  /** The job handler of each recipe that runs as a job, for a worker. */
  handlers: Record<string, JobHandler>;
  /** Stops the flows' listeners and flushes telemetry; the database stays with its owner. */
  close(): Promise<void>;
}

/**
 * genloop's composition root: builds the services once, wires every product flow on them, and
 * mounts their routes. `genloop serve` and every test stack assemble genloop here, so what the
 * tests drive is what runs.
 */
export async function assembleGenloop(
  config: ResolvedConfig,
  db: Db,
  logger: Logger,
  {
    services: serviceOptions = {},
    interior: interiorOptions = {},
    verifier,
    serveGenerations,
    signInCode,
  }: AssembleOptions = {},
): Promise<Genloop> {
  const services = await createServices(config, db, logger, serviceOptions);
  let interior: Interior | undefined;
  try {
    if (interiorOptions !== false) {
      interior = createInterior(services, {
        simulatorUrl: serviceOptions.simulatorUrl,
        ...interiorOptions,
      });
      await interior.start();
    }
  } catch (error) {
    await services.close().catch(() => {});
    throw error;
  }
  const app = createApp({
    config,
    db,
    logger,
    services,
    ...(interior ? { interior } : {}),
    ...(verifier ? { verifier } : {}),
    ...(serveGenerations === undefined ? {} : { serveGenerations }),
    signInCode,
  });
  const handlers: Record<string, JobHandler> = {
    flashcards: flashcardHandler({ router: services.router, budgets: services.budgets }),
    ...(interior ? { interior: interior.handler } : {}),
  };
  return {
    services,
    interior,
    app,
    handlers,
    async close() {
      await interior?.close();
      await services.close();
    },
  };
}
