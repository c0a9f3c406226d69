import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Reservation } from '../budgets/gate.ts';
import { routeErrorToHttp } from '../http/error-mapping.ts';
import { HttpError } from '../http/http-error.ts';
import { strictJson } from '../http/middleware/strict-json/index.ts';
import { problemContent } from '../http/problem-schema.ts';
import { validationHook } from '../http/validation.ts';
import { ProviderError } from '../providers/errors.ts';
import {
  type ChatCompletion,
  type ChatRequest,
  isProviderName,
  type ProviderName,
  TEXT_PROVIDERS,
} from '../providers/types.ts';
import { RouteError } from '../routing/router.ts';
import type { ProviderConfig, RouteMetadata } from '../routing/types.ts';
import type { Services } from '../services.ts';
import { telemetryRows } from '../telemetry/rows.ts';
import {
  CACHE_HEADER,
  type CacheHit,
  CompletionAssembler,
  completionChunks,
  replayedCompletion,
} from './cache.ts';
import { routedCallErrors } from './openapi.ts';
import { ResponseCache } from './response-cache.ts';

const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(z.record(z.string(), z.unknown())), z.null()]),
  })
  .loose();

/** An OpenAI chat completion request; fields genloop does not interpret pass through. */
const ChatCompletionRequestSchema = z
  .object({
    model: z
      .string()
      .min(1)
      .max(200)
      .describe('"default" routes by config; a configured model or provider/model pins a provider'),
    messages: z.array(messageSchema).min(1).max(1_000),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
    // The common sampling parameters are checked here, with OpenAI's bounds, so that a bad value
    // is a 400 naming its field rather than a provider's rejection after a routed attempt.
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    n: z.int().min(1).max(128).nullish(),
    max_tokens: z.int().min(1).nullish(),
    max_completion_tokens: z.int().min(1).nullish(),
    presence_penalty: z.number().min(-2).max(2).nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
    seed: z.int().nullish(),
    user: z.string().max(512).optional(),
  })
  .loose()
  .openapi('ChatCompletionRequest');

/**
 * The OpenAI-compatible gateway: `POST /v1/chat/completions` and `GET /v1/models`. Any OpenAI
 * SDK pointed at genloop gets routing, fallback and telemetry; responses carry the routing
 * metadata in headers (`x-request-id`, `x-genloop-*`, `server-timing`).
 */
export function chatCompletionRoutes(services: Services) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.on(['POST'], '/v1/chat/completions', strictJson({ requireBody: true }));
  const cache = new ResponseCache(services);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/chat/completions',
      tags: ['gateway'],
      summary: 'OpenAI-compatible chat completions (JSON or SSE), routed and recorded',
      security: [{ bearerAuth: [] }],
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: ChatCompletionRequestSchema } },
        },
      },
      responses: {
        200: {
          description: 'The completion, or an SSE stream of chunks when stream is true',
          content: {
            'application/json': { schema: z.record(z.string(), z.unknown()) },
            'text/event-stream': { schema: z.string() },
          },
        },
        400: {
          description: 'Malformed request, unknown model, or a bad `x-genloop-cache` header',
          content: problemContent,
        },
        ...routedCallErrors,
      },
    }),
    (async (c: Context) => {
      const body = c.req.valid('json' as never) as z.infer<typeof ChatCompletionRequestSchema>;
      const started = performance.now();
      const auth = c.get('auth');
      const cachePlan = await cache.plan(c, body);
      const pinned = await resolveModel(services, body.model);
      const {
        stream,
        stream_options: _ignored,
        ...rest
      } = body as Record<string, unknown> & { stream?: boolean };
      const userId = auth.kind === 'user' ? auth.userId : null;
      const telemetryBase = {
        recipe: 'gateway' as const,
        userId,
        prompt: lastUserText(body.messages),
        input: body,
      };
      // A hit is answered before the budget is asked: it spends nothing and reserves nothing.
      const hit = await cache.lookup(c, cachePlan, { userId });
      if (hit) {
        return serveFromCache(c, services, hit, {
          telemetryBase,
          requestedProvider: pinned.provider ?? null,
          started,
          stream: stream === true,
          includeUsage: body.stream_options?.include_usage === true,
        });
      }
      const modelFor = (config: ProviderConfig) => pinned.model ?? config.model ?? body.model;
      const ownCap = body.max_completion_tokens ?? body.max_tokens;
      const reservation = await services.budgets.reserve({
        userId,
        reservationId: randomUUID(),
        // Read only when a budget applies: serialising every request to size it is not free.
        get promptBytes() {
          return Buffer.byteLength(JSON.stringify(rest));
        },
        maxOutputTokens: ownCap,
        choices: body.n,
        candidates: async () =>
          (await services.router.servableConfigs())
            .filter((config) => !pinned.provider || config.provider === pinned.provider)
            .map((config) => ({
              provider: config.provider,
              model: modelFor(config),
              configPrices: config.metadata.prices,
            })),
      });
      // A budgeted call without a cap of its own gets the one it was reserved for, so that what
      // it can cost is bounded by what was reserved.
      const cap = reservation && ownCap == null ? { max_tokens: reservation.maxOutputTokens } : {};
      const request = {
        requestId: c.get('requestId'),
        requestedProvider: pinned.provider,
        simulate: c.req.header('x-genloop-simulate'),
        signal: c.req.raw.signal,
        build: (config: ProviderConfig): ChatRequest =>
          ({ ...rest, ...cap, model: modelFor(config) }) as ChatRequest,
      };
      const onComplete = cache.storer(cachePlan);
      try {
        if (stream) {
          return await streamCompletion(
            c,
            services,
            request,
            telemetryBase,
            started,
            reservation,
            onComplete,
          );
        }
        const routed = await services.router.route(request);
        await reservation?.finish(routed.attempts);
        onComplete?.(routed.metadata, routed.result.completion);
        services.telemetry.record(
          telemetryRows({
            ...telemetryBase,
            metadata: routed.metadata,
            attempts: routed.attempts,
            status: 'succeeded',
            output: { content: routed.result.content },
            usage: routed.result.usage,
          }),
        );
        setMetadataHeaders(c, routed.metadata, started, routed.attempts.at(-1)?.latencyMs);
        // The provider's own bytes when it kept them: nothing to serialise again, and fields
        // genloop does not model reach the client as the provider sent them.
        const { body: raw } = routed.result;
        if (raw === undefined) return c.json(routed.result.completion, 200);
        return c.body(raw, 200, { 'content-type': 'application/json' });
      } catch (error) {
        if (reservation) {
          await reservation.finish(error instanceof RouteError ? error.attempts : []);
        }
        if (error instanceof RouteError) {
          if (error.attempts.length > 0) {
            services.telemetry.record(
              telemetryRows({
                ...telemetryBase,
                metadata: error.metadata,
                attempts: error.attempts,
                status: 'failed',
                error: {
                  code: error.code,
                  message: error.message,
                  last: error.lastError?.toJSON() ?? null,
                },
              }),
            );
          }
          throw routeErrorToHttp(error, 'body.model');
        }
        throw error;
      }
    }) as never,
  );

  app.get('/v1/models', async (c) => {
    const configs = await services.router.servableConfigs();
    const created = Math.floor(Date.now() / 1000);
    const models = new Map<string, string>([['default', 'genloop']]);
    for (const config of configs) {
      for (const model of configuredModels(config)) models.set(model, config.provider);
    }
    return c.json({
      object: 'list',
      data: [...models].map(([id, owner]) => ({ id, object: 'model', created, owned_by: owner })),
    });
  });

  return app;
}

type StreamRequest = Parameters<Services['router']['routeStream']>[0];

async function streamCompletion(
  c: Context,
  services: Services,
  request: StreamRequest,
  telemetryBase: {
    recipe: 'gateway';
    userId: string | null;
    prompt: string | null;
    input: unknown;
  },
  started: number,
  reservation: Reservation | undefined,
  onComplete?: (metadata: RouteMetadata, completion: ChatCompletion) => void,
): Promise<Response> {
  // Failures before the first chunk fall back inside routeStream and surface as RouteError.
  const routed = await services.router.routeStream(request);
  const assembler = onComplete ? new CompletionAssembler() : undefined;
  const streamed = routed.attempts.at(-1);
  setMetadataHeaders(c, routed.metadata, started, routed.attempts.at(-1)?.ttfbMs ?? undefined);
  return streamSSE(c, async (sse) => {
    let content = '';
    let failure: ProviderError | undefined;
    try {
      for await (const chunk of routed.chunks) {
        content += chunk.choices[0]?.delta?.content ?? '';
        assembler?.add(chunk);
        await sse.writeSSE({ data: JSON.stringify(chunk) });
      }
    } catch (error) {
      failure =
        error instanceof ProviderError
          ? error
          : new ProviderError({
              provider: routed.config.provider,
              message: error instanceof Error ? error.message : String(error),
              errorClass: 'stream_cut',
              retryable: false,
            });
      // The client already has bytes: end the stream with an explicit error, no silent cut.
      await sse.writeSSE({
        data: JSON.stringify({
          error: {
            message: `stream interrupted: ${failure.errorClass}`,
            type: 'stream_error',
            code: failure.errorClass,
          },
        }),
      });
    }
    if (!failure) await sse.writeSSE({ data: '[DONE]' });
    // A stream's usage arrives with its last chunk: its attempt is priced now.
    const usage = routed.stream.usage();
    const cost = services.prices.cost({
      provider: routed.config.provider,
      model: request.build(routed.config).model,
      usage,
      configPrices: routed.config.metadata.prices,
    });
    usage.costUsd = cost ?? undefined;
    if (streamed) streamed.costUsd = cost;
    await reservation?.finish(routed.attempts);
    const metadata = {
      ...routed.metadata,
      latencyMs: Math.max(0, Math.round(performance.now() - started)),
    };
    // Stored only once the stream ended with a finish reason on every choice.
    const completion = failure ? undefined : assembler?.complete(usage);
    if (completion) onComplete?.(metadata, completion);
    services.telemetry.record(
      telemetryRows({
        ...telemetryBase,
        metadata,
        attempts: routed.attempts,
        status: failure ? 'failed' : 'succeeded',
        output: { content },
        usage,
        ...(failure ? { error: { code: 'stream_interrupted', last: failure.toJSON() } } : {}),
      }),
    );
  });
}

/**
 * Answers from the exact cache: no reservation, no provider call, no attempt row; one training
 * row with source `generation_cached` naming the provider that first answered, with the lookup's
 * latency. Streams as a live answer would when the client asked for a stream.
 */
function serveFromCache(
  c: Context,
  services: Services,
  hit: CacheHit,
  facts: {
    telemetryBase: {
      recipe: 'gateway';
      userId: string | null;
      prompt: string | null;
      input: unknown;
    };
    requestedProvider: ProviderName | null;
    started: number;
    stream: boolean;
    includeUsage: boolean;
  },
): Response {
  const completion = replayedCompletion(hit.answer.completion);
  const metadata: RouteMetadata = {
    requestId: c.get('requestId'),
    routeStrategy: hit.answer.routeStrategy,
    requestedProvider: facts.requestedProvider,
    selectedProvider: hit.provider,
    fallbackProvider: null,
    fallbackUsed: false,
    latencyMs: Math.max(0, Math.round(performance.now() - facts.started)),
    promptTemplateVersion: hit.answer.promptTemplateVersion,
    model: hit.model,
    plannedProvider: null,
    environment: services.config.environment,
  };
  services.telemetry.record(
    telemetryRows({
      ...facts.telemetryBase,
      source: 'generation_cached',
      metadata,
      attempts: [],
      status: 'succeeded',
      output: { content: completion.choices[0]?.message.content ?? '' },
      usage: { costUsd: 0 },
    }),
  );
  c.header(CACHE_HEADER, 'hit');
  setMetadataHeaders(c, metadata, facts.started, 0);
  if (!facts.stream) return c.json(completion, 200);
  return streamSSE(c, async (sse) => {
    for (const chunk of completionChunks(completion, facts.includeUsage)) {
      await sse.writeSSE({ data: JSON.stringify(chunk) });
    }
    await sse.writeSSE({ data: '[DONE]' });
  });
}

/**
 * `default` routes by config; `provider/model` pins a provider and a model; a model named in a
 * config row (`model`, or `metadata.models`) pins that row's provider. Anything else is a 400.
 */
async function resolveModel(
  services: Services,
  model: string,
): Promise<{ provider?: ProviderName; model?: string }> {
  if (model === 'default') return {};
  const slash = model.indexOf('/');
  // `<provider>/<model>` pins a provider; a bare `<provider>/` names no model and is unknown.
  if (slash > 0 && slash < model.length - 1) {
    const provider = model.slice(0, slash);
    if (isProviderName(provider) && TEXT_PROVIDERS.includes(provider)) {
      return { provider, model: model.slice(slash + 1) };
    }
  }
  const configs = await services.router.servableConfigs();
  const owner = configs.find((config) => configuredModels(config).includes(model));
  if (owner) return { provider: owner.provider, model };
  throw new HttpError(400, 'unknown_model', 'unknown model', {
    detail: `model "${model}" is not configured; use "default", "<provider>/<model>", or one of GET /v1/models`,
    errors: [{ field: 'body.model', code: 'unknown_model', message: 'not a configured model' }],
  });
}

function configuredModels(config: ProviderConfig): string[] {
  const extra = Array.isArray(config.metadata.models)
    ? config.metadata.models.filter((m) => typeof m === 'string')
    : [];
  return [...(config.model ? [config.model] : []), ...(extra as string[])];
}

function setMetadataHeaders(
  c: Context,
  metadata: RouteMetadata,
  started: number,
  providerMs: number | undefined,
): void {
  c.header('x-genloop-selected-provider', metadata.selectedProvider ?? '');
  c.header('x-genloop-route-strategy', metadata.routeStrategy);
  c.header('x-genloop-fallback-used', String(metadata.fallbackUsed));
  c.header('x-genloop-prompt-template-version', metadata.promptTemplateVersion);
  const total = performance.now() - started;
  const provider = providerMs ?? 0;
  c.header(
    'server-timing',
    `provider;dur=${provider.toFixed(1)}, gateway;dur=${Math.max(0, total - provider).toFixed(1)}, total;dur=${total.toFixed(1)}`,
    // After the cache lookup's own entry, when there is one.
    { append: true },
  );
}

function lastUserText(messages: Array<{ role: string; content: unknown }>): string | null {
  let last: { role: string; content: unknown } | undefined;
  for (let index = messages.length - 1; index >= 0 && !last; index--) {
    if (messages[index]!.role === 'user') last = messages[index];
  }
  if (!last) return null;
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) {
    return last.content
      .map((part) => (typeof part === 'object' && part && 'text' in part ? String(part.text) : ''))
      .join('');
  }
  return null;
}
