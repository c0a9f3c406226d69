import { OpenAPIHono } from '@hono/zod-openapi';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import './context.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { accessLog } from './middleware/access-log/index.ts';
import {
  type Authenticator,
  type AuthOptions,
  auth,
  createAuthenticator,
  type TokenVerifier,
} from './middleware/auth/index.ts';
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
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { meRoutes } from './routes/me.ts';
import { validationHook } from './validation.ts';

/** Where the admin API lives: only the service role and API keys get past its door. */
const ADMIN_PATH = '/api/v1/admin';

export interface HttpAppOptions {
  config: ResolvedConfig;
  db: Db;
  logger: Logger;
  /** Overrides token verification (tests use a JWKS served in-process). */
  verifier?: TokenVerifier | undefined;
  /** Served at `/metrics` and fed by every request, when given. */
  metrics?: Metrics | undefined;
  /** `POST` paths whose multipart bodies carry photos and apply their own, larger limit. */
  uploadPaths?: readonly string[];
  /** Paths under `/api` that authenticate otherwise (a provider's signed webhook). */
  unauthenticatedPaths?: readonly string[];
  /** The authenticator of `/v1`, when a fast lane shares it (and its token cache). */
  gatewayAuthenticator?: Authenticator | undefined;
}

/** How bearer tokens are verified under this configuration. */
export function tokenOptions(
  config: ResolvedConfig,
  verifier?: TokenVerifier,
): AuthOptions & { verifier?: TokenVerifier } {
  return {
    jwtSecret: config.auth.jwtSecret,
    jwksUrl: config.auth.jwksUrl,
    audience: config.auth.audience,
    issuer: config.auth.issuer,
    ...(verifier ? { verifier } : {}),
  };
}

/** The authenticator of the OpenAI-compatible `/v1` routes: user tokens and API keys. */
export function gatewayAuthenticator(
  config: ResolvedConfig,
  verifier?: TokenVerifier,
): Authenticator {
  return createAuthenticator({ ...tokenOptions(config, verifier), apiKeys: config.apiKeys });
}

/**
 * genloop's HTTP shell: request ids, security headers, access log, CORS for the configured
 * origins, body limits, bearer auth on `/api`, `/functions` and `/v1` (the service role or an
 * API key on `/api/v1/admin`), the one error handler,
 * and genloop's own routes (health, `/api/v1/me`, `/docs`, `/openapi.json`, `/metrics`). The
 * product routes are mounted on it by the composition root.
 */
export function createHttpApp({
  config,
  db,
  logger,
  verifier,
  metrics,
  uploadPaths = [],
  unauthenticatedPaths = [],
  gatewayAuthenticator: sharedGatewayAuthenticator,
}: HttpAppOptions) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.use(requestId());
  // Renders and signed upload links are shown by apps on other origins (`<img src>`).
  app.use(securityHeaders({ crossOriginPrefixes: ['/files/'] }));
  app.use(accessLog({ logger }));
  if (config.corsOrigins.length > 0) app.use(cors({ origins: config.corsOrigins }));
  app.use('/v1/*', openAIErrors());
  const jsonBodyLimit = bodyLimit({ maxBytes: config.jsonLimitBytes });
  const generalBodyLimit = bodyLimit({ maxBytes: config.bodyLimitBytes });
  const uploads = new Set(uploadPaths);
  app.use(async function bodyLimits(c, next) {
    const type = c.req.header('content-type');
    // JSON is buffered and parsed whole, so it is held to its own limit on every route, the
    // upload routes included; only photos sent as multipart there get those routes' limits.
    if (isJsonContentType(type)) return jsonBodyLimit(c, next);
    if (c.req.method === 'POST' && uploads.has(c.req.path) && isMultipartContentType(type)) {
      return next();
    }
    return generalBodyLimit(c, next);
  });
  if (metrics) app.use(httpMetrics({ metrics }));

  const tokens = tokenOptions(config, verifier);
  const requireUser = auth(tokens);
  // The console's admin API: the service role or an API key, never a user's own token.
  const requireOperator = auth({
    ...tokens,
    requireRole: 'service_role',
    apiKeys: config.apiKeys,
  });
  const open = new Set(unauthenticatedPaths);
  app.use('/api/*', async function requireUserExceptOpenPaths(c, next) {
    if (open.has(c.req.path)) return next();
    if (c.req.path === ADMIN_PATH || c.req.path.startsWith(`${ADMIN_PATH}/`)) {
      return requireOperator(c, next);
    }
    return requireUser(c, next);
  });
  app.use('/functions/*', requireUser);
  app.use('/v1/*', auth(sharedGatewayAuthenticator ?? gatewayAuthenticator(config, verifier)));

  app.route('/', healthRoutes(db));
  app.route('/', meRoutes(db));
  app.route('/', docsRoutes());
  if (metrics) {
    const { registry } = metrics;
    if (config.metricsToken !== undefined) {
      app.use('/metrics', staticBearer({ token: config.metricsToken, realm: 'metrics' }));
    }
    app.get('/metrics', async (c) =>
      c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }),
    );
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
