import { createHash, randomUUID } from 'node:crypto';
import { parseCacheHeader } from '../cache/header.ts';
import type { Embedded } from '../cache/semantic-index.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Db } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { ChatCompletion, ChatCompletionChunk } from '../providers/types.ts';
import type { RouteMetadata, RouteStrategy } from '../routing/types.ts';
import { selectCachedAnswer, upsertCachedAnswer } from '../sql/response-cache.ts';

export { CACHE_HEADER } from '../cache/header.ts';

type ChatChoice = ChatCompletion['choices'][number];

/** Above this temperature answers are too random to replay unless the client forces it. */
export const MAX_CACHED_TEMPERATURE = 1;

/** How long an answer lives when GENLOOP_CACHE_TTL_SECONDS is 0 (its value for generate-site). */
export const DEFAULT_TTL_MS = 3_600_000;

/**
 * Fields that do not change the answer: how it is delivered (stream), who asked (user) and what
 * the provider keeps of it. Every other field, known or not, is part of the key, so two requests
 * that differ in anything that might matter never share an answer.
 */
const DELIVERY_FIELDS = new Set(['stream', 'stream_options', 'user', 'metadata', 'store']);

/** Where an answer is stored exactly: its scope, the hash of its request, and the key of both. */
export interface ExactKey {
  key: string;
  scope: string;
  requestHash: string;
}

/** A semantic lookup: the exact probe first, then the nearest answer to the last user message. */
export interface SemanticPlan extends ExactKey {
  kind: 'semantic';
  /** sha256 input of everything the answer depends on but the last user message. */
  context: string;
  /** The last user message: what is embedded and compared. */
  text: string;
  /** Set by the lookup once the text is embedded, for the store that follows a miss. */
  embedded?: Embedded | undefined;
}

/**
 * What to do for one request: no cache, a request the cache declines, a lookup by key, or a
 * lookup by key and then by meaning.
 */
export type CachePlan =
  | { kind: 'off' }
  | { kind: 'bypass'; reason: 'tools' | 'temperature' }
  | ({ kind: 'exact' } & ExactKey)
  | SemanticPlan;

/** What an entry holds: the completion as the client got it, and the route that produced it. */
export interface StoredAnswer {
  completion: ChatCompletion;
  routeStrategy: RouteStrategy;
  promptTemplateVersion: string;
}

/** A hit: the stored answer and the provider that first gave it. */
export interface CacheHit {
  answer: StoredAnswer;
  provider: RouteMetadata['selectedProvider'];
  model: string | null;
  /** For a semantic hit: the cosine distance between the two last user messages. */
  distance?: number;
}

/**
 * JSON with object keys sorted at every depth and absent/null members dropped: two requests
 * that mean the same serialise to the same bytes whatever order their keys came in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined && member !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The request without the fields that only say how the answer is delivered or who asked. */
export function answerFields(body: Record<string, unknown>): Record<string, unknown> {
  const normal: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    if (!DELIVERY_FIELDS.has(field)) normal[field] = value;
  }
  return normal;
}

/** sha256 (hex) of the request's normalised form within a routing environment. */
export function requestHash(environment: string, body: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson({ environment, request: answerFields(body) }))
    .digest('hex');
}

/** Why a request is not cached unless forced: it calls tools, or its answers are too random. */
export function uncacheable(body: Record<string, unknown>): 'tools' | 'temperature' | undefined {
  const listed = (field: string) => Array.isArray(body[field]) && body[field].length > 0;
  if (listed('tools') || listed('functions')) return 'tools';
  const temperature = body.temperature;
  if (typeof temperature === 'number' && temperature > MAX_CACHED_TEMPERATURE) {
    return 'temperature';
  }
  return undefined;
}

/**
 * The gateway's exact cache: a request asked to be cached is looked up by one primary-key probe
 * of `ai_response_cache`, keyed by its scope (the caller, or everyone) and the hash of its
 * normalised form; a successful answer is stored once it is complete.
 */
export class ExactCache {
  private readonly ttlMs: number;

  constructor(
    private readonly options: {
      db: Db;
      logger: Logger;
      config: Pick<
        ResolvedConfig,
        'environment' | 'responseCacheTtlMs' | 'responseCacheDefault' | 'responseCacheScope'
      >;
    },
  ) {
    this.ttlMs = options.config.responseCacheTtlMs || DEFAULT_TTL_MS;
  }

  /**
   * What the exact cache does for this request; throws the 400 for a bad header. A request for
   * the semantic cache gets its exact plan here, which the semantic cache builds on.
   */
  plan(
    header: string | undefined,
    body: Record<string, unknown>,
    caller: { kind: 'user' | 'api_key'; userId: string },
  ): Exclude<CachePlan, SemanticPlan> {
    const { config } = this.options;
    const { mode, force } = parseCacheHeader(header, config.responseCacheDefault);
    if (mode === 'off') return { kind: 'off' };
    const reason = force ? undefined : uncacheable(body);
    if (reason) return { kind: 'bypass', reason };
    // API keys carry no user: under the user scope they share one scope of their own.
    const scope =
      config.responseCacheScope === 'global'
        ? 'global'
        : caller.kind === 'user'
          ? caller.userId
          : 'api_key';
    const hash = requestHash(config.environment, body);
    return { kind: 'exact', key: `gateway:${scope}:${hash}`, scope, requestHash: hash };
  }

  /** The live answer under the plan's key, if any; a failed lookup is a miss, never an error. */
  async lookup(plan: ExactKey): Promise<CacheHit | undefined> {
    let row: Awaited<ReturnType<typeof selectCachedAnswer>>;
    try {
      row = await selectCachedAnswer(this.options.db, plan.key);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'response cache lookup failed');
      return undefined;
    }
    return row ? cacheHit(row) : undefined;
  }

  /** Stores a complete, successful answer off the request path; a failed write is only logged. */
  store(plan: ExactKey, metadata: RouteMetadata, completion: ChatCompletion): Promise<void> {
    if (!metadata.selectedProvider) return Promise.resolve();
    const answer = storedAnswer(metadata, completion);
    return upsertCachedAnswer(this.options.db, {
      key: plan.key,
      recipe: 'gateway',
      scope: plan.scope,
      requestHash: plan.requestHash,
      provider: metadata.selectedProvider,
      model: completion.model ?? metadata.model,
      response: answer,
      ttlMs: this.ttlMs,
    }).catch((error) => this.options.logger.warn({ err: error }, 'response cache write failed'));
  }
}

/** An entry's answer as a hit, unless it is not the shape genloop stores. */
export function cacheHit(row: {
  provider: string;
  model: string | null;
  response: unknown;
}): CacheHit | undefined {
  const answer = row.response as Partial<StoredAnswer> | null;
  if (!Array.isArray(answer?.completion?.choices) || !answer.routeStrategy) return undefined;
  return {
    answer: answer as StoredAnswer,
    provider: row.provider as RouteMetadata['selectedProvider'],
    model: row.model,
  };
}

/** What an entry keeps of a routed answer. */
export function storedAnswer(metadata: RouteMetadata, completion: ChatCompletion): StoredAnswer {
  return {
    completion,
    routeStrategy: metadata.routeStrategy,
    promptTemplateVersion: metadata.promptTemplateVersion,
  };
}

/**
 * The stored completion as a fresh response: its own id and time, and a cost of 0 where the
 * provider reported one, since nobody paid for this answer.
 */
export function replayedCompletion(completion: ChatCompletion): ChatCompletion {
  const usage = completion.usage as (ChatCompletion['usage'] & { cost?: number }) | undefined;
  return {
    ...completion,
    id: `chatcmpl-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    ...(usage ? { usage: 'cost' in usage ? { ...usage, cost: 0 } : usage } : {}),
  };
}

/**
 * A completion as the chunks a live stream would have sent: per choice its role and whole
 * content (and tool calls), then its finish reason; then the usage chunk when asked for.
 */
export function completionChunks(
  completion: ChatCompletion,
  includeUsage: boolean,
): ChatCompletionChunk[] {
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk' as const,
    created: completion.created,
    model: completion.model,
  };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    const { message } = choice;
    const toolCalls = (message.tool_calls ?? []).map((call, index) => ({ index, ...call }));
    chunks.push({
      ...base,
      choices: [
        {
          index: choice.index,
          delta: {
            role: 'assistant',
            content: message.content ?? '',
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls as never } : {}),
          },
          finish_reason: null,
          logprobs: null,
        },
      ],
    });
    chunks.push({
      ...base,
      choices: [
        { index: choice.index, delta: {}, finish_reason: choice.finish_reason, logprobs: null },
      ],
    });
  }
  if (includeUsage && completion.usage)
    chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}

/**
 * Rebuilds the completion a stream delivered, chunk by chunk, so that a streamed answer can be
 * stored like a JSON one. `complete()` is undefined unless every choice ended with a finish
 * reason: a cut or unfinished stream is never cached.
 */
export class CompletionAssembler {
  private head: Pick<ChatCompletion, 'id' | 'created' | 'model'> | undefined;
  private readonly choices = new Map<
    number,
    {
      content: string;
      finishReason: ChatChoice['finish_reason'] | null;
      toolCalls: Map<number, { id: string; type: 'function'; name: string; arguments: string }>;
    }
  >();
  private usage: ChatCompletion['usage'];

  add(chunk: ChatCompletionChunk): void {
    this.head ??= { id: chunk.id, created: chunk.created, model: chunk.model };
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices) {
      let state = this.choices.get(choice.index);
      if (!state) {
        state = { content: '', finishReason: null, toolCalls: new Map() };
        this.choices.set(choice.index, state);
      }
      state.content += choice.delta?.content ?? '';
      for (const call of choice.delta?.tool_calls ?? []) {
        const known = state.toolCalls.get(call.index) ?? {
          id: '',
          type: 'function' as const,
          name: '',
          arguments: '',
        };
        if (call.id) known.id = call.id;
        known.name += call.function?.name ?? '';
        known.arguments += call.function?.arguments ?? '';
        state.toolCalls.set(call.index, known);
      }
      if (choice.finish_reason) state.finishReason = choice.finish_reason;
    }
  }

  complete(usage: {
    inputTokens?: number | undefined;
    outputTokens?: number | undefined;
  }): ChatCompletion | undefined {
    if (!this.head || this.choices.size === 0) return undefined;
    const choices: ChatChoice[] = [];
    for (const [index, state] of [...this.choices].sort(([a], [b]) => a - b)) {
      if (!state.finishReason) return undefined;
      const toolCalls = [...state.toolCalls.values()].map(
        ({ id, type, name, arguments: args }) => ({
          id,
          type,
          function: { name, arguments: args },
        }),
      );
      choices.push({
        index,
        message: {
          role: 'assistant',
          content: state.content,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: state.finishReason,
        logprobs: null,
      });
    }
    const prompt = usage.inputTokens;
    const output = usage.outputTokens;
    const fromStream =
      prompt !== undefined && output !== undefined
        ? { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output }
        : undefined;
    const finalUsage = this.usage ?? fromStream;
    return {
      ...this.head,
      object: 'chat.completion',
      choices,
      ...(finalUsage ? { usage: finalUsage } : {}),
    };
  }
}
