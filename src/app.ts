import { OpenAPIHono } from '@hono/zod-openapi';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import { WEBHOOK_PATH } from '../providers/replicate/adapter.ts';
import type { Interior } from '../recipes/interior/index.ts';
import type { Services } from '../services.ts';
import './context.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { accessLog } from './middleware/access-log/index.ts';
import { auth, type TokenVerifier } from './middleware/auth/index.ts';
import {
  bodyLimit,
  isJsonContentType,
  isMultipartContentType,
} from './middleware/body-limit/index.ts';
import { cors } from './middleware/cors/index.ts';
import { httpMetrics } from './middleware/http-metrics/index.ts';
import { openAIErrors } from './middleware/openai-errors/index.ts';
import { requestId } from './middleware/request-id/index.ts';
import { securityHeaders } from './middleware/security-headers/index.ts';
import { staticBearer } from './middleware/static-bearer/index.ts';
import { chatCompletionRoutes } from './routes/chat-completions.ts';
import { docsRoutes } from './routes/docs.ts';
import { fileRoutes } from './routes/files.ts';
import { flashcardRoutes } from './routes/flashcards.ts';
import { generateSiteRoutes } from './routes/generate-site.ts';
import { healthRoutes } from './routes/health.ts';
import { GENERATIONS_PATH, interiorGenerationRoutes } from './routes/interior-generations.ts';
import { meRoutes } from './routes/me.ts';
import { outcomesRoutes } from './routes/outcomes.ts';
import { renderRoutes } from './routes/renders.ts';
import { replicateWebhookRoutes } from './routes/replicate-webhook.ts';
import { validationHook } from './validation.ts';

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
}

/**
 * Builds genloop's HTTP app. Routes are mounted per resource; everything under `/api` needs a
 * bearer token. Every answer carries the security headers; CORS is on for the configured
 * origins only. Tests drive it in-process with `app.request(...)`.
 */
export function createApp({
  config,
  db,
  logger,
  verifier,
  services,
  serveGenerations = true,
  interior,
}: AppDependencies) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.use(requestId());
  // Renders and signed upload links are shown by apps on other origins (`<img src>`).
  app.use(securityHeaders({ crossOriginPrefixes: ['/files/'] }));
  app.use(accessLog({ logger }));
  if (config.corsOrigins.length > 0) app.use(cors({ origins: config.corsOrigins }));
  app.use('/v1/*', openAIErrors());
  const jsonBodyLimit = bodyLimit({ maxBytes: config.jsonLimitBytes });
  const generalBodyLimit = bodyLimit({ maxBytes: config.bodyLimitBytes });
  app.use(async function bodyLimits(c, next) {
    const type = c.req.header('content-type');
    // JSON is buffered and parsed whole, so it is held to its own limit on every route, the
    // upload route included; only photos sent as multipart there get that route's larger limit.
    if (isJsonContentType(type)) return jsonBodyLimit(c, next);
    if (
      interior &&
      c.req.method === 'POST' &&
      c.req.path === GENERATIONS_PATH &&
      isMultipartContentType(type)
    ) {
      return next();
    }
    return generalBodyLimit(c, next);
  });
  if (services) app.use(httpMetrics({ metrics: services.metrics }));

  const tokenOptions = {
    jwtSecret: config.auth.jwtSecret,
    jwksUrl: config.auth.jwksUrl,
    audience: config.auth.audience,
    issuer: config.auth.issuer,
    ...(verifier ? { verifier } : {}),
  };
  const requireUser = auth(tokenOptions);
  // Replicate's webhook authenticates by its signature, not by a bearer token.
  app.use('/api/*', async function requireUserExceptWebhooks(c, next) {
    if (interior && c.req.path === WEBHOOK_PATH) return next();
    return requireUser(c, next);
  });
  app.use('/functions/*', requireUser);
  app.use('/v1/*', auth({ ...tokenOptions, apiKeys: config.apiKeys }));

  app.route('/', healthRoutes(db));
  app.route('/', meRoutes(db));
  app.route('/', outcomesRoutes(db));
  app.route('/', docsRoutes());
  if (services) {
    const { registry } = services.metrics;
    if (config.metricsToken !== undefined) {
      app.use('/metrics', staticBearer({ token: config.metricsToken, realm: 'metrics' }));
    }
    app.get('/metrics', async (c) =>
      c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }),
    );
  }
  if (services && serveGenerations) {
    app.route('/', generateSiteRoutes(services));
    app.route('/', chatCompletionRoutes(services));
    app.route('/', flashcardRoutes(services));
    if (interior) {
      app.route('/', replicateWebhookRoutes(interior));
      app.route('/', interiorGenerationRoutes(services, interior));
      app.route('/', renderRoutes(interior));
      app.route('/', fileRoutes(interior.deps.store));
    }
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'genloop',
      version: '0.1.0',
      description:
        'Self-hosted control plane for AI generation: routing, async jobs, telemetry, evals and rollouts. Errors are application/problem+json with a stable `code`.',
    },
  });

  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler);
  return app;
}

export type App = ReturnType<typeof createApp>;
