import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { CACHE_HEADER, parseCacheHeader, SEMANTIC_HEADER } from '../../cache/header.ts';
import { strictJson } from '../../http/middleware/strict-json/index.ts';
import { problemContent } from '../../http/problem-schema.ts';
import { validationHook } from '../../http/validation.ts';
import type { Services } from '../../services.ts';
import { siteBriefSchema, siteSchema } from './schema.ts';
import { generateSite } from './service.ts';

const providerName = z.enum(['openai', 'custom', 'openrouter', 'replicate']);

const SiteResponseSchema = z
  .object({
    site: siteSchema,
    operations: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .describe('Patch mode: the JSON Patch applied'),
    requestId: z.string().uuid(),
    routeStrategy: z.enum(['single_provider', 'weighted', 'fallback']),
    promptTemplateVersion: z.string(),
    selectedProvider: providerName,
    fallbackUsed: z.boolean(),
    latencyMs: z.number().int().nonnegative(),
    requestedProvider: providerName.nullable(),
    fallbackProvider: providerName.nullable(),
    model: z.string().nullable(),
    usage: z.object({
      inputTokens: z.number().int().nullable(),
      outputTokens: z.number().int().nullable(),
      costUsd: z.number().nullable(),
    }),
  })
  .openapi('GeneratedSite');

/** `POST /functions/v1/generate-site`: the site builder's edge function. */
export function generateSiteRoutes(services: Services) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.on(['POST'], '/functions/v1/generate-site', strictJson({ requireBody: true }));
  app.openapi(
    createRoute({
      method: 'post',
      path: '/functions/v1/generate-site',
      tags: ['site'],
      summary: 'Generate a site (or patch one) and return it with the routing metadata',
      security: [{ bearerAuth: [] }],
      request: {
        body: { required: true, content: { 'application/json': { schema: siteBriefSchema } } },
      },
      responses: {
        200: {
          description: 'The site and its metadata',
          content: { 'application/json': { schema: SiteResponseSchema } },
        },
        400: {
          description: 'Invalid brief, or a bad `x-genloop-cache` header',
          content: problemContent,
        },
        401: { description: 'Missing or invalid token', content: problemContent },
        413: { description: 'Request body over the size limit', content: problemContent },
        415: { description: 'The body is not application/json', content: problemContent },
        402: {
          description:
            "The caller's dollar budget cannot cover this generation until its period resets (`budget_exceeded`, with Retry-After)",
          content: problemContent,
        },
        422: {
          description: 'Requested provider not enabled, or the request was refused',
          content: problemContent,
        },
        502: { description: 'Every provider failed', content: problemContent },
        503: { description: 'No provider enabled', content: problemContent },
        504: { description: 'The last provider timed out', content: problemContent },
      },
    }),
    async (c) => {
      const brief = c.req.valid('json');
      const header = c.req.header(CACHE_HEADER);
      // Without the header, only the brief cache applies (GENLOOP_CACHE_TTL_SECONDS), as before.
      const cacheMode = header === undefined ? undefined : parseCacheHeader(header, 'off').mode;
      const generation = await generateSite(
        {
          router: services.router,
          telemetry: services.telemetry,
          db: services.db,
          logger: c.get('logger'),
          cacheTtlMs: services.config.responseCacheTtlMs,
          environment: services.config.environment,
          budgets: services.budgets,
          cacheScope: services.config.responseCacheScope,
          semanticIndex: services.semanticIndex,
        },
        {
          brief,
          requestId: c.get('requestId'),
          userId: c.get('auth').userId,
          simulate: c.req.header('x-genloop-simulate'),
          signal: c.req.raw.signal,
          cacheMode,
        },
      );
      const { metadata, usage, cache } = generation;
      if (cache && cache.status !== 'off') c.header(CACHE_HEADER, cache.status);
      if (cache?.semantic) c.header(SEMANTIC_HEADER, cache.semantic);
      if (cache?.timing) c.header('server-timing', cache.timing);
      return c.json(
        {
          site: generation.site,
          ...(generation.operations
            ? { operations: generation.operations as Record<string, unknown>[] }
            : {}),
          requestId: metadata.requestId,
          routeStrategy: metadata.routeStrategy,
          promptTemplateVersion: metadata.promptTemplateVersion,
          selectedProvider: metadata.selectedProvider!,
          fallbackUsed: metadata.fallbackUsed,
          latencyMs: metadata.latencyMs,
          requestedProvider: metadata.requestedProvider,
          fallbackProvider: metadata.fallbackProvider,
          model: metadata.model,
          usage: {
            inputTokens: usage.inputTokens ?? null,
            outputTokens: usage.outputTokens ?? null,
            costUsd: usage.costUsd ?? null,
          },
        },
        200,
      );
    },
  );
  return app;
}
