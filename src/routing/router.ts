import { abortSignalOf, type Cancellation, type CancelSource } from '../lib/cancellation.ts';
import { callError, type ProviderError } from '../providers/errors.ts';
import type { PriceBook } from '../providers/pricing.ts';
import type { ProviderSet } from '../providers/registry.ts';
import type {
  CallOptions,
  ChatCompletionChunk,
  ChatRequest,
  ChatResult,
  ChatStream,
  EmbeddingRequest,
  EmbeddingResult,
  ProviderName,
  TextProvider,
} from '../providers/types.ts';
import {
  type AttemptStart,
  failedAttempt,
  startAttempt,
  succeededAttempt,
} from './attempt-record.ts';
import { type AttemptSignal, attemptSignal } from './attempt-signal.ts';
import { type BackoffOptions, backoffDelay, sleep } from './backoff.ts';
import type { ProviderConfigCache } from './config-cache.ts';
import type { Cooldown } from './cooldown.ts';
import { elapsedMs } from './elapsed.ts';
import { idleBounded } from './idle-bounded.ts';
import { moveCoolingToEnd, planRoute } from './plan.ts';
import { failedRoute, RouteError, rejectsRequest } from './route-error.ts';
import { plannedMetadata, servedMetadata } from './route-metadata.ts';
import {
  type AttemptRecord,
  type ProviderConfig,
  ROUTE_STRATEGIES,
  type RouteMetadata,
  type RouteStrategy,
} from './types.ts';

export { RouteError } from './route-error.ts';

export interface RouteRequest<T> {
  requestId: string;
  requestedProvider?: ProviderName | undefined;
  /** A recipe's own default provider (flashcards prefer openrouter). */
  preferredProvider?: ProviderName | undefined;
  /** Builds the provider request for one config (its model and prompt template version). */
  build(config: ProviderConfig): ChatRequest;
  /**
   * Checks the answer; throw a ProviderError with errorClass 'invalid_output' to fall back (it
   * counts toward the provider's cooldown like any other failure).
   */
  accept?(result: ChatResult, config: ProviderConfig): T;
  /** The prompt template version used with a config, when the recipe versions its own. */
  templateVersion?(config: ProviderConfig): string;
  /** Fault header for simulated providers (`x-genloop-simulate`). */
  simulate?: string | undefined;
  /** The caller's cancellation (a client that went away, a job being shut down). */
  signal?: CancelSource | undefined;
  /**
   * Called before every attempt after the first, with the attempts so far: a budgeted call
   * makes sure its reservation covers one more paid call here. Whatever it throws ends the route
   * with a RouteError `budget_exceeded` whose cause is that error.
   */
  beforeAttempt?(attempts: readonly AttemptRecord[]): Promise<void>;
}

/** What planning and recording a route need, whatever the call: all but how to build it. */
type PlannedRequest = Omit<RouteRequest<unknown>, 'build' | 'accept'>;

/** An embeddings call routed like a chat one: same plan, retries, cooldown and records. */
export interface EmbeddingRouteRequest extends PlannedRequest {
  build(config: ProviderConfig): EmbeddingRequest;
}

export interface EmbeddingRouteSuccess {
  result: EmbeddingResult;
  config: ProviderConfig;
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
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
  /** Metadata as of the first chunk; the caller sets the final `latencyMs` when it ends. */
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
  /** The first chunk (already received) followed by the rest. Throws ProviderError if it breaks. */
  chunks: AsyncIterable<ChatCompletionChunk>;
  stream: ChatStream;
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
  /** Prices answered calls; without it attempts keep only a provider's own cost figure. */
  prices?: PriceBook;
}

/**
 * One provider call up to the moment its answer belongs to the caller: the whole answer for
 * JSON, the first chunk for a stream. Whatever it throws fails the attempt.
 */
type Deliver<A> = (call: {
  provider: TextProvider;
  config: ProviderConfig;
  options: CallOptions;
  /** Where a call that got an answer notes what it cost, even if the answer is then refused. */
  charge: AttemptCharge;
}) => Promise<A>;

/** The cost of one attempt in USD, once its answer arrived; null while unknown. */
interface AttemptCharge {
  costUsd: number | null;
}

interface RunOptions<A> {
  deliver: Deliver<A>;
  /** The answer is a stream's first chunk: its wait is recorded as the attempt's ttfb. */
  streaming?: boolean;
}

/** An attempt, over: its record, and on success what a stream still needs of it. */
type AttemptOutcome<A> =
  | {
      ok: true;
      answer: A;
      record: AttemptRecord;
      start: AttemptStart;
      /** Aborts the provider call; a stream uses it when it stalls after its first chunk. */
      abort(reason: unknown): void;
    }
  | { ok: false; error: ProviderError; record: AttemptRecord };

type Delivered<A> = Extract<AttemptOutcome<A>, { ok: true }> & {
  config: ProviderConfig;
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
};

/**
 * Routes a chat request across the enabled providers of the environment: plans the order from
 * the strategy, then per provider tries up to `1 + max_retries` times, each attempt bounded by
 * `timeout_ms`, with capped exponential backoff and full jitter (never earlier than a
 * Retry-After), falling back to the next provider on any failure that is not the request's own.
 */
export class Router {
  /** The servable configs and the route plans made from one loaded set of configs. */
  private memo:
    | {
        configs: ProviderConfig[];
        servable: readonly ProviderConfig[];
        plans: Map<string, ProviderConfig[]>;
      }
    | undefined;

  constructor(private readonly options: RouterOptions) {}

  /** The strategy of the environment: the default row's `metadata.route_strategy`, else fallback. */
  strategyOf(configs: readonly ProviderConfig[]): RouteStrategy {
    const declared = configs.find((config) => config.isDefault)?.metadata.route_strategy;
    return (ROUTE_STRATEGIES as readonly unknown[]).includes(declared)
      ? (declared as RouteStrategy)
      : 'fallback';
  }

  /** Enabled configs whose provider this process can call (text providers only). */
  async servableConfigs(): Promise<readonly ProviderConfig[]> {
    return (await this.memoFor()).servable;
  }

  /**
   * What is derived from the loaded configs, made again only when the config cache loads a new
   * set: every request would otherwise filter and sort the same few rows.
   */
  private async memoFor() {
    const configs = await this.options.configs.get();
    if (this.memo?.configs !== configs) {
      this.memo = {
        configs,
        servable: configs.filter((config) => this.options.providers.text.has(config.provider)),
        plans: new Map(),
      };
    }
    return this.memo;
  }

  /** Routes a non-streaming request. Throws {@link RouteError} when no provider succeeds. */
  async route<T = ChatResult>(request: RouteRequest<T>): Promise<RouteSuccess<T>> {
    const { answer, config, metadata, attempts } = await this.run(request, {
      deliver: async ({ provider, config, options, charge }) => {
        const built = request.build(config);
        const result = await provider.generate(built, options);
        // Priced before the answer is checked: an answer refused as invalid was still paid for.
        charge.costUsd = this.priceResult(config, built.model, result);
        return { result, value: request.accept ? request.accept(result, config) : (result as T) };
      },
    });
    return { value: answer.value, result: answer.result, config, metadata, attempts };
  }

  /** Routes an embeddings request. Throws {@link RouteError} when no provider succeeds. */
  async routeEmbeddings(request: EmbeddingRouteRequest): Promise<EmbeddingRouteSuccess> {
    const { answer, config, metadata, attempts } = await this.run(request, {
      deliver: async ({ provider, config, options, charge }) => {
        const built = request.build(config);
        const result = await provider.embed(built, options);
        const { prices } = this.options;
        const cost = prices
          ? prices.cost({
              provider: config.provider,
              model: built.model,
              answeredModel: result.model,
              usage: result.usage,
              configPrices: config.metadata.prices,
            })
          : (result.usage.costUsd ?? null);
        result.usage.costUsd = cost ?? undefined;
        charge.costUsd = cost;
        return result;
      },
    });
    return { result: answer, config, metadata, attempts };
  }

  /**
   * Routes a streaming request. Retries and falls back exactly as {@link route} until the first
   * chunk has arrived; from then on the caller owns the stream, and a break surfaces as a
   * ProviderError (`stream_cut` or `timeout`) from the iterator, to be ended explicitly for the
   * client. Throws {@link RouteError} when no provider got as far as a first chunk.
   */
  async routeStream(request: RouteRequest<unknown>): Promise<StreamRouteSuccess> {
    const routed = await this.run(request, {
      streaming: true,
      deliver: async ({ provider, config, options }) => {
        const stream = await provider.stream(request.build(config), options);
        const iterator = stream[Symbol.asyncIterator]();
        return { stream, iterator, first: await iterator.next() };
      },
    });
    const { answer, config, metadata, attempts, record, start, abort } = routed;
    const { first, iterator, stream } = answer;
    // The caller sends the first chunk on, so the client has bytes: a later failure can no
    // longer fall back. Each further chunk gets its own `timeout_ms` instead of the attempt's.
    const chunks = idleBounded({ first, iterator, config, record, started: start.started, abort });
    return { config, metadata, attempts, stream, chunks };
  }

  /**
   * The route loop of {@link route} and {@link routeStream}. A failure of the request itself
   * ends the route; a retryable one is tried again after a backoff while retries are left; any
   * other moves on to the next provider. A provider whose attempts all failed counts one failure
   * toward its cooldown, invalid output included: a provider that keeps answering what the caller
   * cannot use is as unhealthy for it as one that keeps erroring, streaming or not.
   */
  private async run<A>(
    request: PlannedRequest,
    { deliver, streaming = false }: RunOptions<A>,
  ): Promise<Delivered<A>> {
    const started = performance.now();
    const { candidates, planned } = await this.plan(request, started);
    const metadataAt = (index: number) =>
      servedMetadata({ planned, request, candidates, index, started });
    const attempts: AttemptRecord[] = [];
    let lastError: ProviderError | undefined;

    // Plain loops and literals: this runs once per request on the gateway's hot path.
    for (let index = 0; index < candidates.length; index++) {
      const config = candidates[index]!;
      for (let retry = 0; retry <= config.maxRetries; retry++) {
        const attemptNo = attempts.length + 1;
        if (request.beforeAttempt && attemptNo > 1) {
          await this.beforeAttempt(request, attempts, metadataAt(index), lastError);
        }
        const outcome = await this.attempt({ request, config, attemptNo, deliver, streaming });
        attempts.push(outcome.record);
        if (outcome.ok) {
          void this.options.cooldown.success(config.provider);
          const { answer, record, start, abort } = outcome;
          return {
            ok: true,
            answer,
            record,
            start,
            abort,
            config,
            metadata: metadataAt(index),
            attempts,
          };
        }
        lastError = outcome.error;
        if (rejectsRequest(lastError)) {
          throw failedRoute({ metadata: metadataAt(index), attempts, lastError });
        }
        if (!lastError.retryable || retry === config.maxRetries) break;
        const delay = backoffDelay(retry, lastError.retryAfterMs, this.options.backoff);
        if (delay > (this.options.maxRetryWaitMs ?? 10_000)) break;
        await sleep(delay, request.signal && abortSignalOf(request.signal));
      }
      if (lastError) void this.options.cooldown.failure(config.provider, lastError.errorClass);
    }
    throw failedRoute({ metadata: metadataAt(candidates.length - 1), attempts, lastError });
  }

  /** The caller's check before a further attempt; its refusal ends the route. */
  private async beforeAttempt(
    request: PlannedRequest,
    attempts: AttemptRecord[],
    metadata: RouteMetadata,
    lastError: ProviderError | undefined,
  ): Promise<void> {
    try {
      await request.beforeAttempt?.(attempts);
    } catch (error) {
      throw new RouteError({
        code: 'budget_exceeded',
        message: `the route stopped after ${attempts.length} attempt(s): ${error instanceof Error ? error.message : String(error)}`,
        metadata,
        attempts,
        lastError,
        cause: error,
      });
    }
  }

  /**
   * The cost of an answered call (the provider's own figure, else its usage at the model's
   * price), also written into the result's usage so that every caller records the same figure.
   */
  private priceResult(config: ProviderConfig, model: string, result: ChatResult): number | null {
    const { prices } = this.options;
    if (!prices) return result.usage.costUsd ?? null;
    const cost = prices.cost({
      provider: config.provider,
      model,
      answeredModel: result.completion?.model,
      usage: result.usage,
      configPrices: config.metadata.prices,
    });
    result.usage.costUsd = cost ?? undefined;
    return cost;
  }

  /** One provider call under its own timeout; its timer is gone by the time this returns. */
  private async attempt<A>({
    request,
    config,
    attemptNo,
    deliver,
    streaming,
  }: {
    request: PlannedRequest;
    config: ProviderConfig;
    attemptNo: number;
    deliver: Deliver<A>;
    streaming: boolean;
  }): Promise<AttemptOutcome<A>> {
    const provider = this.options.providers.text.get(config.provider)!;
    const start = startAttempt({ attemptNo, config });
    const signal = attemptSignal({ timeoutMs: config.timeoutMs, caller: request.signal });
    const charge: AttemptCharge = { costUsd: null };
    try {
      const options = new AttemptOptions(signal, simulateHeaders(provider, request.simulate));
      const answer = await deliver({ provider, config, options, charge });
      const ttfbMs = streaming ? elapsedMs(start.started) : null;
      const record = succeededAttempt({ start, ttfbMs });
      record.costUsd = charge.costUsd;
      return { ok: true, answer, record, start, abort: signal.abort };
    } catch (error) {
      const failure = callError(config.provider, error, signal.cancellation);
      const record = failedAttempt({ start, error: failure });
      record.costUsd = charge.costUsd;
      return { ok: false, error: failure, record };
    } finally {
      signal.dispose();
    }
  }

  /** The order of providers for this request, or a RouteError when none can be tried. */
  private async plan(request: PlannedRequest, started: number) {
    const memo = await this.memoFor();
    const configs = memo.servable;
    const strategy = this.strategyOf(configs);
    const { environment } = this.options;
    const unplanned = () =>
      plannedMetadata({ request, strategy, candidates: [], started, environment });
    if (
      request.requestedProvider &&
      !configs.some((config) => config.provider === request.requestedProvider)
    ) {
      throw new RouteError({
        code: 'provider_not_enabled',
        message: `provider ${request.requestedProvider} is not enabled in environment ${this.options.environment}`,
        metadata: unplanned(),
        attempts: [],
      });
    }
    // The strategy's order first, then the cooldown's reordering: the strategy's choice is what
    // the route planned (a canary's weighted share is counted on it), and a choice moved back for
    // being cold is served by a fallback.
    // A weighted route draws its first provider per request; the others' order depends only on
    // the configs and the request's preferences, and is planned once per loaded set.
    const key = `${request.requestedProvider ?? ''}/${request.preferredProvider ?? ''}`;
    let ordered = strategy === 'weighted' ? undefined : memo.plans.get(key);
    if (ordered === undefined) {
      ordered = planRoute({
        configs,
        strategy,
        requested: request.requestedProvider,
        preferred: request.preferredProvider,
        ...(this.options.random ? { random: this.options.random } : {}),
      });
      if (strategy !== 'weighted') memo.plans.set(key, ordered);
    }
    const candidates = moveCoolingToEnd(ordered, this.options.cooldown.coolingDown());
    if (candidates.length === 0) {
      throw new RouteError({
        code: 'no_provider_available',
        message: `no provider is enabled and servable in environment ${this.options.environment}`,
        metadata: unplanned(),
        attempts: [],
      });
    }
    return {
      candidates,
      planned: plannedMetadata({
        request,
        strategy,
        candidates,
        started,
        environment,
        chosen: ordered[0],
      }),
    };
  }
}

/**
 * One attempt's call options. `signal` is read only by providers that need an AbortSignal (the
 * wire transport listens to the cancellation instead), so it is made on first read; a class,
 * not a literal with a getter, for the reason given on `attemptSignal`'s class.
 */
class AttemptOptions implements CallOptions {
  constructor(
    private readonly attempt: AttemptSignal,
    readonly headers: Record<string, string> | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.attempt.signal;
  }

  get cancellation(): Cancellation {
    return this.attempt.cancellation;
  }
}

/** The fault header goes only to providers the simulator serves; a real API never sees it. */
function simulateHeaders(
  provider: TextProvider,
  simulate: string | undefined,
): Record<string, string> | undefined {
  return simulate !== undefined && provider.servedBy === 'simulator'
    ? { 'x-genloop-simulate': simulate }
    : undefined;
}
