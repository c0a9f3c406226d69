import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { EmbeddingService } from '../embeddings/service.ts';
import { routeErrorToHttp } from '../http/error-mapping.ts';
import { strictJson } from '../http/middleware/strict-json/index.ts';
import { problemContent } from '../http/problem-schema.ts';
import { validationHook } from '../http/validation.ts';
import { encodeFloat32 } from '../providers/openai-compatible/embeddings.ts';
import { RouteError } from '../routing/router.ts';
import { routedCallErrors } from './openapi.ts';

/** OpenAI's own limits: inputs per request, and the largest vector a model returns. */
const MAX_INPUTS = 2048;
const MAX_DIMENSIONS = 3072;

/** An OpenAI embeddings request; token-id inputs are not accepted, text only. */
const EmbeddingsRequestSchema = z
  .object({
    model: z
      .string()
      .min(1)
      .max(200)
      .describe(
        '"default" (GENLOOP_EMBEDDING_MODEL, routed by config), "<provider>/<model>", or a configured embedding model',
      ),
    input: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(MAX_INPUTS)])
      .describe('the text, or up to 2048 texts, to embed'),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.int().min(1).max(MAX_DIMENSIONS).optional(),
    user: z.string().max(512).optional(),
  })
  .loose()
  .openapi('EmbeddingsRequest');

const EmbeddingsResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.int(),
        embedding: z.union([z.array(z.number()), z.string()]),
      }),
    ),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.int(), total_tokens: z.int() }),
  })
  .openapi('EmbeddingsResponse');

/**
 * `POST /v1/embeddings`, OpenAI-compatible: any OpenAI SDK gets embeddings routed across the
 * environment's providers (with retries, cooldown and fallback), recorded in telemetry and held
 * to the caller's budget. Routing metadata comes back in the same headers as chat completions.
 */
export function embeddingRoutes(embeddings: EmbeddingService) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.on(['POST'], '/v1/embeddings', strictJson({ requireBody: true }));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/embeddings',
      tags: ['gateway'],
      summary: 'OpenAI-compatible embeddings, routed and recorded',
      security: [{ bearerAuth: [] }],
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: EmbeddingsRequestSchema } },
        },
      },
      responses: {
        200: {
          description: 'One vector per input, in input order',
          content: { 'application/json': { schema: EmbeddingsResponseSchema } },
        },
        400: { description: 'Malformed request or unknown model', content: problemContent },
        ...routedCallErrors,
      },
    }),
    (async (c: Context) => {
      const body = c.req.valid('json' as never) as z.infer<typeof EmbeddingsRequestSchema>;
      const auth = c.get('auth');
      const started = performance.now();
      const resolved = await embeddings.resolve(body.model);
      await embeddings.checkDimensions(resolved, body.dimensions);
      try {
        const { result, metadata, attempts } = await embeddings.embed(
          {
            requestId: c.get('requestId'),
            userId: auth.kind === 'user' ? auth.userId : null,
            model: body.model,
            input: typeof body.input === 'string' ? [body.input] : body.input,
            dimensions: body.dimensions,
            user: body.user,
            simulate: c.req.header('x-genloop-simulate'),
            signal: c.req.raw.signal,
            recordedInput: body,
          },
          resolved,
        );
        c.header('x-genloop-selected-provider', metadata.selectedProvider ?? '');
        c.header('x-genloop-route-strategy', metadata.routeStrategy);
        c.header('x-genloop-fallback-used', String(metadata.fallbackUsed));
        c.header('x-genloop-prompt-template-version', metadata.promptTemplateVersion);
        const provider = attempts.at(-1)?.latencyMs ?? 0;
        const total = performance.now() - started;
        c.header(
          'server-timing',
          `provider;dur=${provider.toFixed(1)}, gateway;dur=${Math.max(0, total - provider).toFixed(1)}, total;dur=${total.toFixed(1)}`,
        );
        const tokens = result.usage.inputTokens ?? 0;
        const base64 = body.encoding_format === 'base64';
        return c.json(
          {
            object: 'list' as const,
            data: result.embeddings.map((vector, index) => ({
              object: 'embedding' as const,
              index,
              embedding: base64 ? encodeFloat32(vector) : vector,
            })),
            model: result.model,
            usage: { prompt_tokens: tokens, total_tokens: tokens },
          },
          200,
        );
      } catch (error) {
        if (error instanceof RouteError) throw routeErrorToHttp(error, 'body.model');
        throw error;
      }
    }) as never,
  );

  return app;
}
