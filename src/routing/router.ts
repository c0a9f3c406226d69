import {
  AttemptTimeout,
  type ErrorClass,
  ProviderError,
  toProviderError,
} from '../providers/errors.ts';
import type { ProviderSet } from '../providers/registry.ts';
import type {
  ChatCompletionChunk,
  ChatRequest,
  ChatResult,
  ChatStream,
  ProviderName,
  TextProvider,
} from '../providers/types.ts';
import { type BackoffOptions, backoffDelay, sleep } from './backoff.ts';
import type { ProviderConfigCache } from './config-cache.ts';
import type { Cooldown } from './cooldown.ts';
import { planRoute } from './plan.ts';
import {
  type AttemptRecord,
  type ProviderConfig,
  ROUTE_STRATEGIES,
  type RouteMetadata,
  type RouteStrategy,
} from './types.ts';

/** Errors that end the whole route: the request itself is at fault, another provider won't help. */
const TERMINAL: ReadonlySet<ErrorClass> = new Set(['bad_request', 'content_policy', 'canceled']);

export interface RouteRequest<T> {
  requestId: string;
  requestedProvider?: ProviderName | undefined;
  /** A recipe's own default provider (flashcards prefer openrouter). */
  preferredProvider?: ProviderName | undefined;
  /** Builds the provider request for one config (its model and prompt template version). */
  build(config: ProviderConfig): ChatRequest;
  /** Checks the answer; throw a ProviderError with errorClass 'invalid_output' to fall back. */
  accept?(result: ChatResult, config: ProviderConfig): T;
  /** The prompt template version used with a config, when the recipe versions its own. */
  templateVersion?(config: ProviderConfig): string;
  /** Fault header for simulated providers (`x-genloop-simulate`). */
  simulate?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface RouteSuccess<T> {
  value: T;
  result: ChatResult;
  config: ProviderConfig;
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
}

export interface StreamRouteSuccess {
  config: ProviderConfig;
  /** Metadata as of the first chunk; `finish()` gives the final one. */
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
  /** The first chunk (already received) followed by the rest. Throws ProviderError if it breaks. */
  chunks: AsyncIterable<ChatCompletionChunk>;
  stream: ChatStream;
}

/** No provider could serve: why, with everything tried. */
export class RouteError extends Error {
  override readonly name = 'RouteError';
  constructor(
    readonly code:
      | 'no_provider_available'
      | 'provider_not_enabled'
      | 'all_providers_failed'
      | 'request_rejected',
    message: string,
    readonly metadata: RouteMetadata,
    readonly attempts: AttemptRecord[],
    readonly lastError?: ProviderError,
  ) {
    super(message, { cause: lastError });
  }
}

export interface RouterOptions {
  environment: string;
  providers: ProviderSet;
  configs: ProviderConfigCache;
  cooldown: Cooldown;
  backoff?: BackoffOptions;
  /** Longest Retry-After worth waiting for; beyond it the route falls back instead. */
  maxRetryWaitMs?: number;
  random?: () => number;
}

/**
 * Routes a chat request across the enabled providers of the environment: plans the order from
 * the strategy, then per provider tries up to `1 + max_retries` times, each attempt bounded by
 * `timeout_ms`, with capped exponential backoff and full jitter (never earlier than a
 * Retry-After), falling back to the next provider on retryable failures.
 */
export class Router {
  constructor(private readonly options: RouterOptions) {}

  /** The strategy of the environment: the default row's `metadata.route_strategy`, else fallback. */
  strategyOf(configs: readonly ProviderConfig[]): RouteStrategy {
    const declared = configs.find((config) => config.isDefault)?.metadata.route_strategy;
    return (ROUTE_STRATEGIES as readonly unknown[]).includes(declared)
      ? (declared as RouteStrategy)
      : 'fallback';
  }

  /** Enabled configs whose provider this process can call (text providers only). */
  async servableConfigs(): Promise<ProviderConfig[]> {
    const configs = await this.options.configs.get();
    return configs.filter((config) => this.options.providers.text.has(config.provider));
  }

  async plan<T>(request: RouteRequest<T>, started: number) {
    const configs = await this.servableConfigs();
    const strategy = this.strategyOf(configs);
    const baseMetadata = (candidates: ProviderConfig[]): RouteMetadata => ({
      requestId: request.requestId,
      routeStrategy: strategy,
      requestedProvider: request.requestedProvider ?? null,
      selectedProvider: null,
      fallbackProvider: candidates[1]?.provider ?? null,
      fallbackUsed: false,
      latencyMs: Math.max(0, Math.round(performance.now() - started)),
      promptTemplateVersion:
        (candidates[0] && request.templateVersion?.(candidates[0])) ??
        candidates[0]?.promptTemplateVersion ??
        'unknown',
      model: candidates[0]?.model ?? null,
    });
    if (
      request.requestedProvider &&
      !configs.some((config) => config.provider === request.requestedProvider)
    ) {
      throw new RouteError(
        'provider_not_enabled',
        `provider ${request.requestedProvider} is not enabled in environment ${this.options.environment}`,
        baseMetadata([]),
        [],
      );
    }
    const candidates = planRoute({
      configs,
      strategy,
      requested: request.requestedProvider,
      preferred: request.preferredProvider,
      coolingDown: this.options.cooldown.coolingDown(),
      ...(this.options.random ? { random: this.options.random } : {}),
    });
    if (candidates.length === 0) {
      throw new RouteError(
        'no_provider_available',
        `no provider is enabled and servable in environment ${this.options.environment}`,
        baseMetadata([]),
        [],
      );
    }
    return { candidates, metadata: baseMetadata(candidates) };
  }

  /** Routes a non-streaming request. Throws {@link RouteError} when no provider succeeds. */
  async route<T = ChatResult>(request: RouteRequest<T>): Promise<RouteSuccess<T>> {
    const started = performance.now();
    const { candidates, metadata } = await this.plan(request, started);
    const attempts: AttemptRecord[] = [];
    let lastError: ProviderError | undefined;

    for (const [index, config] of candidates.entries()) {
      const provider = this.options.providers.text.get(config.provider)!;
      for (let retry = 0; retry <= config.maxRetries; retry++) {
        const attemptStarted = performance.now();
        const createdAt = new Date();
        const attempt = this.attemptSignal(config, request.signal);
        try {
          const result = await provider.generate(request.build(config), {
            signal: attempt.signal,
            headers: this.headersFor(provider, request.simulate),
          });
          const value = request.accept ? request.accept(result, config) : (result as T);
          attempts.push(succeeded(attempts.length + 1, config, attemptStarted, createdAt));
          void this.options.cooldown.success(config.provider);
          return {
            value,
            result,
            config,
            attempts,
            metadata: this.finalMetadata(metadata, candidates, index, config, started, request),
          };
        } catch (error) {
          lastError = toProviderError(config.provider, error, attempt.timedOut());
          attempts.push(failed(attempts.length + 1, config, attemptStarted, createdAt, lastError));
          if (TERMINAL.has(lastError.errorClass)) {
            throw this.failure(
              metadata,
              candidates,
              index,
              config,
              started,
              attempts,
              lastError,
              request,
            );
          }
          if (!lastError.retryable || retry === config.maxRetries) break;
          const delay = backoffDelay(retry, lastError.retryAfterMs, this.options.backoff);
          if (delay > (this.options.maxRetryWaitMs ?? 10_000)) break;
          await sleep(delay, request.signal);
        } finally {
          attempt.dispose();
        }
      }
      if (lastError && lastError.errorClass !== 'invalid_output') {
        void this.options.cooldown.failure(config.provider, lastError.errorClass);
      }
    }
    const last = candidates.at(-1)!;
    throw this.failure(
      metadata,
      candidates,
      candidates.length - 1,
      last,
      started,
      attempts,
      lastError,
      request,
    );
  }

  /**
   * Routes a streaming request. Retries and falls back freely until the first chunk has arrived;
   * from then on the caller owns the stream, and a break surfaces as a ProviderError
   * (`stream_cut` or `timeout`) from the iterator, to be ended explicitly for the client.
   */
  async routeStream(request: RouteRequest<unknown>): Promise<StreamRouteSuccess> {
    const started = performance.now();
    const { candidates, metadata } = await this.plan(request, started);
    const attempts: AttemptRecord[] = [];
    let lastError: ProviderError | undefined;

    for (const [index, config] of candidates.entries()) {
      const provider = this.options.providers.text.get(config.provider)!;
      for (let retry = 0; retry <= config.maxRetries; retry++) {
        const attemptStarted = performance.now();
        const createdAt = new Date();
        const attempt = this.attemptSignal(config, request.signal);
        try {
          const stream = await provider.stream(request.build(config), {
            signal: attempt.signal,
            headers: this.headersFor(provider, request.simulate),
          });
          const iterator = stream[Symbol.asyncIterator]();
          const first = await iterator.next();
          const ttfbMs = Math.round(performance.now() - attemptStarted);
          const record = succeeded(attempts.length + 1, config, attemptStarted, createdAt, ttfbMs);
          attempts.push(record);
          void this.options.cooldown.success(config.provider);
          // From here the stream belongs to the caller: an idle timeout replaces the attempt's.
          attempt.dispose();
          const chunks = idleBounded(first, iterator, config, attempt, record, attemptStarted);
          return {
            config,
            attempts,
            stream,
            chunks,
            metadata: this.finalMetadata(metadata, candidates, index, config, started, request),
          };
        } catch (error) {
          attempt.dispose();
          lastError = toProviderError(config.provider, error, attempt.timedOut());
          attempts.push(failed(attempts.length + 1, config, attemptStarted, createdAt, lastError));
          if (TERMINAL.has(lastError.errorClass)) {
            throw this.failure(
              metadata,
              candidates,
              index,
              config,
              started,
              attempts,
              lastError,
              request,
            );
          }
          if (!lastError.retryable || retry === config.maxRetries) break;
          const delay = backoffDelay(retry, lastError.retryAfterMs, this.options.backoff);
          if (delay > (this.options.maxRetryWaitMs ?? 10_000)) break;
          await sleep(delay, request.signal);
        }
      }
      if (lastError) void this.options.cooldown.failure(config.provider, lastError.errorClass);
    }
    const last = candidates.at(-1)!;
    throw this.failure(
      metadata,
      candidates,
      candidates.length - 1,
      last,
      started,
      attempts,
      lastError,
      request,
    );
  }

  private headersFor(
    provider: TextProvider,
    simulate: string | undefined,
  ): Record<string, string> | undefined {
    return simulate !== undefined && provider.servedBy === 'simulator'
      ? { 'x-genloop-simulate': simulate }
      : undefined;
  }

  private attemptSignal(config: ProviderConfig, caller: AbortSignal | undefined) {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new AttemptTimeout(config.timeoutMs)),
      config.timeoutMs,
    );
    const onCallerAbort = () => controller.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    if (caller?.aborted) controller.abort(caller.reason);
    return {
      signal: controller.signal,
      timedOut: () =>
        controller.signal.aborted && controller.signal.reason instanceof AttemptTimeout,
      /** Abort the underlying call from outside (idle timeout after the first chunk). */
      abort: (reason: unknown) => controller.abort(reason),
      dispose: () => {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onCallerAbort);
      },
    };
  }

  private finalMetadata(
    base: RouteMetadata,
    candidates: ProviderConfig[],
    index: number,
    config: ProviderConfig,
    started: number,
    request: RouteRequest<unknown>,
  ): RouteMetadata {
    const fallbackUsed = index > 0;
    return {
      ...base,
      selectedProvider: config.provider,
      fallbackUsed,
      // When the route fell back, the provider it fell back to; otherwise the first backup.
      fallbackProvider: fallbackUsed ? config.provider : (candidates[1]?.provider ?? null),
      latencyMs: Math.max(0, Math.round(performance.now() - started)),
      promptTemplateVersion: request.templateVersion?.(config) ?? config.promptTemplateVersion,
      model: config.model,
    };
  }

  private failure(
    base: RouteMetadata,
    candidates: ProviderConfig[],
    index: number,
    config: ProviderConfig,
    started: number,
    attempts: AttemptRecord[],
    lastError: ProviderError | undefined,
    request: RouteRequest<unknown>,
  ): RouteError {
    const metadata = this.finalMetadata(base, candidates, index, config, started, request);
    const terminal = lastError !== undefined && TERMINAL.has(lastError.errorClass);
    return new RouteError(
      terminal ? 'request_rejected' : 'all_providers_failed',
      terminal
        ? `${lastError.provider} rejected the request (${lastError.errorClass})`
        : `every provider failed (${attempts.length} attempts); last: ${lastError?.message ?? 'none'}`,
      metadata,
      attempts,
      lastError,
    );
  }
}

function succeeded(
  attemptNo: number,
  config: ProviderConfig,
  started: number,
  createdAt: Date,
  ttfbMs: number | null = null,
): AttemptRecord {
  return {
    attemptNo,
    provider: config.provider,
    model: config.model,
    status: 'succeeded',
    errorClass: null,
    httpStatus: 200,
    latencyMs: Math.max(0, Math.round(performance.now() - started)),
    ttfbMs,
    retryAfterMs: null,
    error: null,
    createdAt,
  };
}

function failed(
  attemptNo: number,
  config: ProviderConfig,
  started: number,
  createdAt: Date,
  error: ProviderError,
): AttemptRecord {
  return {
    attemptNo,
    provider: config.provider,
    model: config.model,
    status:
      error.errorClass === 'timeout'
        ? 'timeout'
        : error.errorClass === 'canceled'
          ? 'aborted'
          : 'failed',
    errorClass: error.errorClass,
    httpStatus: error.status ?? null,
    latencyMs: Math.max(0, Math.round(performance.now() - started)),
    ttfbMs: null,
    retryAfterMs: error.retryAfterMs ?? null,
    error: error.toJSON(),
    createdAt,
  };
}

/**
 * Yields the first chunk, then the rest, each within `timeout_ms` of the previous one; a stall
 * aborts the provider call and throws a `timeout` ProviderError. The attempt record is updated
 * to say how the stream ended.
 */
async function* idleBounded(
  first: IteratorResult<ChatCompletionChunk>,
  iterator: AsyncIterator<ChatCompletionChunk>,
  config: ProviderConfig,
  attempt: { abort: (reason: unknown) => void },
  record: AttemptRecord,
  started: number,
): AsyncGenerator<ChatCompletionChunk> {
  if (first.done) return;
  yield first.value;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const reason = new AttemptTimeout(config.timeoutMs);
            attempt.abort(reason);
            reject(
              new ProviderError({
                provider: config.provider,
                message: `stream stalled for ${config.timeoutMs} ms`,
                errorClass: 'timeout',
                retryable: false,
              }),
            );
          }, config.timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if (next.done) break;
      yield next.value;
    }
    record.latencyMs = Math.max(0, Math.round(performance.now() - started));
  } catch (error) {
    const failure = toProviderError(config.provider, error, false);
    record.status = failure.errorClass === 'timeout' ? 'timeout' : 'failed';
    record.errorClass = failure.errorClass === 'timeout' ? 'timeout' : 'stream_cut';
    record.error = failure.toJSON();
    record.latencyMs = Math.max(0, Math.round(performance.now() - started));
    throw failure;
  }
}
