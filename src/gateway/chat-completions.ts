import { z } from '@hono/zod-openapi';
import { candidateModels, type Reservation } from '../budgets/gate.ts';
import { routeErrorToHttp } from '../http/error-mapping.ts';
import type { Answer, Exchange } from '../http/exchange.ts';
import { HttpError } from '../http/http-error.ts';
import { newId } from '../lib/uuid.ts';
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
import { ResponseCache } from './response-cache.ts';

export const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';

const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(z.record(z.string(), z.unknown())), z.null()]),
  })
  .loose();

/** An OpenAI chat completion request; fields genloop does not interpret pass through. */
export const ChatCompletionRequestSchema = z
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

export type ChatCompletionBody = z.infer<typeof ChatCompletionRequestSchema>;

interface TelemetryBase {
  recipe: 'gateway';
  userId: string | null;
  prompt: string | null;
  input: unknown;
}

type StreamRequest = Parameters<Services['router']['routeStream']>[0];

/**
 * `POST /v1/chat/completions` without a web framework: a validated body in, an {@link Answer}
 * out, errors thrown as HttpError or RouteError for the server's error handler. The Hono route
 * and the fast lane both call this, so the gateway behaves the same on either.
 *
 * A call: the cache plan and lookup (a hit is answered before the budget is asked, and spends
 * nothing), the budget reservation, the routed provider call (JSON or a stream), the settlement,
 * one telemetry row with its attempt rows, and the routing metadata in the answer's headers.
 */
export class ChatCompletions {
  private readonly cache: ResponseCache;

  constructor(private readonly services: Services) {
    this.cache = new ResponseCache(services);
  }

  async handle(exchange: Exchange, body: ChatCompletionBody): Promise<Answer> {
    const { services, cache } = this;
    const started = performance.now();
    const cachePlan = await cache.plan(exchange, body);
    const pinned = await resolveModel(services, body.model);
    const stream = body.stream === true;
    const { auth } = exchange;
    const userId = auth.kind === 'user' ? auth.userId : null;
    const telemetryBase: TelemetryBase = {
      recipe: 'gateway',
      userId,
      prompt: lastUserText(body.messages),
      input: body,
    };
    const hit = await cache.lookup(exchange, cachePlan, { userId });
    if (hit) {
      return this.serveFromCache(exchange, hit, {
        telemetryBase,
        requestedProvider: pinned.provider ?? null,
        started,
        stream,
        includeUsage: body.stream_options?.include_usage === true,
      });
    }
    const modelFor = (config: ProviderConfig) => pinned.model ?? config.model ?? body.model;
    const ownCap = body.max_completion_tokens ?? body.max_tokens;
    // Budgets are per user: a call made with an API key has none to reserve against.
    const reservation =
      userId === null
        ? undefined
        : await services.budgets.reserve({
            userId,
            reservationId: newId(),
            // Measured only when a budget applies: serialising every request is not free.
            promptBytes: () => Buffer.byteLength(JSON.stringify(providerRequest(body, body.model))),
            maxOutputTokens: ownCap,
            choices: body.n,
            candidates: async () =>
              candidateModels(await services.router.servableConfigs(), modelFor, pinned.provider),
          });
    // A budgeted call without a cap of its own gets the one it was reserved for, so that what
    // it can cost is bounded by what was reserved.
    const cap = reservation && ownCap == null ? reservation.maxOutputTokens : undefined;
    const request = {
      requestId: exchange.requestId,
      requestedProvider: pinned.provider,
      simulate: exchange.header('x-genloop-simulate'),
      signal: exchange.signal,
      build: (config: ProviderConfig): ChatRequest => providerRequest(body, modelFor(config), cap),
    };
    const onComplete = cache.storer(cachePlan);
    try {
      if (stream) {
        return await this.streamCompletion(
          exchange,
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
      setMetadataHeaders(exchange, routed.metadata, started, routed.attempts.at(-1)?.latencyMs);
      // The provider's own bytes when it kept them: nothing to serialise again, and fields
      // genloop does not model reach the client as the provider sent them.
      const { body: raw } = routed.result;
      if (raw === undefined) return { kind: 'json', value: routed.result.completion };
      return { kind: 'raw-json', body: raw };
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
  }

  /** The models `GET /v1/models` lists: `default` and every configured one, by provider. */
  async models(): Promise<Map<string, string>> {
    const configs = await this.services.router.servableConfigs();
    const models = new Map<string, string>([['default', 'genloop']]);
    for (const config of configs) {
      for (const model of configuredModels(config)) models.set(model, config.provider);
    }
    return models;
  }

  private async streamCompletion(
    exchange: Exchange,
    request: StreamRequest,
    telemetryBase: TelemetryBase,
    started: number,
    reservation: Reservation | undefined,
    onComplete?: (metadata: RouteMetadata, completion: ChatCompletion) => void,
  ): Promise<Answer> {
    const { services } = this;
    // Failures before the first chunk fall back inside routeStream and surface as RouteError.
    const routed = await services.router.routeStream(request);
    const assembler = onComplete ? new CompletionAssembler() : undefined;
    const streamed = routed.attempts.at(-1);
    setMetadataHeaders(exchange, routed.metadata, started, streamed?.ttfbMs ?? undefined);
    async function* events(): AsyncGenerator<string> {
      let content = '';
      let failure: ProviderError | undefined;
      try {
        for await (const chunk of routed.chunks) {
          content += chunk.choices[0]?.delta?.content ?? '';
          assembler?.add(chunk);
          yield JSON.stringify(chunk);
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
        yield JSON.stringify({
          error: {
            message: `stream interrupted: ${failure.errorClass}`,
            type: 'stream_error',
            code: failure.errorClass,
          },
        });
      }
      if (!failure) yield '[DONE]';
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
    }
    return { kind: 'events', events: events() };
  }

  /**
   * Answers from the exact cache: no reservation, no provider call, no attempt row; one training
   * row with source `generation_cached` naming the provider that first answered, with the
   * lookup's latency. Streams as a live answer would when the client asked for a stream.
   */
  private serveFromCache(
    exchange: Exchange,
    hit: CacheHit,
    facts: {
      telemetryBase: TelemetryBase;
      requestedProvider: ProviderName | null;
      started: number;
      stream: boolean;
      includeUsage: boolean;
    },
  ): Answer {
    const { services } = this;
    const completion = replayedCompletion(hit.answer.completion);
    const metadata: RouteMetadata = {
      requestId: exchange.requestId,
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
    exchange.setHeader(CACHE_HEADER, 'hit');
    setMetadataHeaders(exchange, metadata, facts.started, 0);
    if (!facts.stream) return { kind: 'json', value: completion };
    async function* events(): AsyncGenerator<string> {
      for (const chunk of completionChunks(completion, facts.includeUsage)) {
        yield JSON.stringify(chunk);
      }
      yield '[DONE]';
    }
    return { kind: 'events', events: events() };
  }
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
  const owner = modelOwner(await services.router.servableConfigs(), model);
  if (owner) return { provider: owner, model };
  throw new HttpError(400, 'unknown_model', 'unknown model', {
    detail: `model "${model}" is not configured; use "default", "<provider>/<model>", or one of GET /v1/models`,
    errors: [{ field: 'body.model', code: 'unknown_model', message: 'not a configured model' }],
  });
}

/**
 * The provider's request: the client's body with the routed model, without the stream fields
 * (a stream asks for its own), with `max_tokens` set when a budget capped the call. Copied in one
 * pass: this runs once per attempt on the gateway's hot path.
 */
function providerRequest(body: ChatCompletionBody, model: string, maxTokens?: number): ChatRequest {
  const request: Record<string, unknown> = {};
  for (const key in body) {
    if (key === 'stream' || key === 'stream_options') continue;
    const value = (body as Record<string, unknown>)[key];
    // A `__proto__` field is data like any other: assigned, it would set the prototype.
    if (key === '__proto__') {
      Object.defineProperty(request, key, { value, enumerable: true, writable: true });
    } else {
      request[key] = value;
    }
  }
  if (maxTokens !== undefined) request.max_tokens = maxTokens;
  request.model = model;
  return request as unknown as ChatRequest;
}

/** Per loaded set of configs: which provider a configured model name pins (the first to name it). */
const modelOwners = new WeakMap<readonly ProviderConfig[], Map<string, ProviderName>>();

function modelOwner(configs: readonly ProviderConfig[], model: string): ProviderName | undefined {
  let owners = modelOwners.get(configs);
  if (owners === undefined) {
    owners = new Map();
    for (const config of configs) {
      for (const name of configuredModels(config)) {
        if (!owners.has(name)) owners.set(name, config.provider);
      }
    }
    modelOwners.set(configs, owners);
  }
  return owners.get(model);
}

function configuredModels(config: ProviderConfig): string[] {
  const extra = Array.isArray(config.metadata.models)
    ? config.metadata.models.filter((m) => typeof m === 'string')
    : [];
  return [...(config.model ? [config.model] : []), ...(extra as string[])];
}

function setMetadataHeaders(
  exchange: Exchange,
  metadata: RouteMetadata,
  started: number,
  providerMs: number | undefined,
): void {
  exchange.setHeader('x-genloop-selected-provider', metadata.selectedProvider ?? '');
  exchange.setHeader('x-genloop-route-strategy', metadata.routeStrategy);
  exchange.setHeader('x-genloop-fallback-used', String(metadata.fallbackUsed));
  exchange.setHeader('x-genloop-prompt-template-version', metadata.promptTemplateVersion);
  const total = performance.now() - started;
  const provider = providerMs ?? 0;
  // After the cache lookup's own entry, when there is one.
  exchange.setHeader(
    'server-timing',
    `provider;dur=${provider.toFixed(1)}, gateway;dur=${Math.max(0, total - provider).toFixed(1)}, total;dur=${total.toFixed(1)}`,
    true,
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
