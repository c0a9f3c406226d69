import { type BudgetGate, candidateModels } from '../budgets/gate.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { CancelSource } from '../lib/cancellation.ts';
import { DomainError, validationFailed } from '../lib/domain-errors.ts';
import { newId } from '../lib/uuid.ts';
import {
  type EmbeddingResult,
  isProviderName,
  type ProviderName,
  TEXT_PROVIDERS,
} from '../providers/types.ts';
import { RouteError, type Router } from '../routing/router.ts';
import type { AttemptRecord, ProviderConfig, RouteMetadata } from '../routing/types.ts';
import { telemetryRows } from '../telemetry/rows.ts';
import type { TelemetryWriter } from '../telemetry/writer.ts';

/** What embeddings need of the process: the router, the budgets and telemetry. */
export interface EmbeddingDependencies {
  config: Pick<ResolvedConfig, 'embeddingModel'>;
  router: Router;
  budgets: BudgetGate;
  telemetry: TelemetryWriter;
}

/** One embeddings call as the gateway makes it, for a client or for the semantic cache. */
export interface EmbedCall {
  /** The request id of the generation the call belongs to (the client's own, or the chat's). */
  requestId: string;
  userId: string | null;
  /** The model as asked for: `default`, `<provider>/<model>` or a configured embedding model. */
  model: string;
  input: string[];
  dimensions?: number | undefined;
  user?: string | undefined;
  simulate?: string | undefined;
  signal?: CancelSource | undefined;
  /** What the training row keeps as the request (the client's body). */
  recordedInput: unknown;
}

/** An embeddings call that was answered: the vectors and what its route did. */
export interface Embedded {
  result: EmbeddingResult;
  metadata: RouteMetadata;
  attempts: AttemptRecord[];
}

/**
 * The full size of the embedding models whose sizes are published (OpenAI's, also under their
 * OpenRouter ids); `dimensions` may shorten text-embedding-3 vectors, not ada-002's.
 */
const NATIVE_DIMENSIONS: Readonly<Record<string, { size: number; shortens: boolean }>> = {
  'text-embedding-3-small': { size: 1536, shortens: true },
  'text-embedding-3-large': { size: 3072, shortens: true },
  'text-embedding-ada-002': { size: 1536, shortens: false },
};

/** The model a call names, resolved to the provider it pins (if any) and the model to send. */
export interface ResolvedModel {
  provider?: ProviderName;
  /** The model to send to every provider; undefined: each config's own embedding model. */
  model?: string;
}

/**
 * Embeddings through genloop's router: planned, retried, cooled down and fallen back like chat
 * calls across the environment's provider configs, held to the caller's budget, and recorded as
 * one training row (recipe `gateway`) with one attempt row per provider call.
 *
 * Which model each provider is sent: `default` sends each config's `metadata.embedding_model`,
 * else GENLOOP_EMBEDDING_MODEL; `<provider>/<model>` pins the provider and sends the model; a
 * model a config lists in `metadata.embedding_models` pins that config's provider; the default
 * embedding model's own name routes like `default`. Anything else is a 400 `unknown_model`.
 */
export class EmbeddingService {
  constructor(private readonly services: EmbeddingDependencies) {}

  /** The embedding model a config is sent when the call asks for `default`. */
  modelFor(config: ProviderConfig): string {
    const own = config.metadata.embedding_model;
    return typeof own === 'string' && own.length > 0 ? own : this.services.config.embeddingModel;
  }

  /** Resolves the call's model, or throws DomainError `unknown_model` (400) naming `field`. */
  async resolve(model: string, field = 'body.model'): Promise<ResolvedModel> {
    if (model === 'default' || model === this.services.config.embeddingModel) return {};
    const slash = model.indexOf('/');
    if (slash > 0 && slash < model.length - 1) {
      const provider = model.slice(0, slash);
      if (isProviderName(provider) && TEXT_PROVIDERS.includes(provider)) {
        return { provider, model: model.slice(slash + 1) };
      }
    }
    const configs = await this.services.router.servableConfigs();
    const owner = configs.find((config) => {
      const listed = config.metadata.embedding_models;
      return this.modelFor(config) === model || (Array.isArray(listed) && listed.includes(model));
    });
    if (owner) return { provider: owner.provider, model };
    throw new DomainError('invalid', 'unknown_model', 'unknown model', {
      detail: `embedding model "${model}" is not configured; use "default", "<provider>/<model>", or a model listed in a provider config's metadata.embedding_models`,
      errors: [{ field, code: 'unknown_model', message: 'not a configured embedding model' }],
    });
  }

  /**
   * Refuses, before any provider call, a `dimensions` that a known model the call may be sent
   * to cannot give (DomainError `validation_failed` naming `field`); a model of unknown size is
   * left to its provider.
   */
  async checkDimensions(
    resolved: ResolvedModel,
    dimensions: number | undefined,
    field = 'body.dimensions',
  ): Promise<void> {
    if (dimensions === undefined) return;
    const models = resolved.model
      ? [resolved.model]
      : (await this.services.router.servableConfigs())
          .filter((config) => !resolved.provider || config.provider === resolved.provider)
          .map((config) => this.modelFor(config));
    for (const model of models) {
      const known = NATIVE_DIMENSIONS[model.replace(/^openai\//, '')];
      if (!known) continue;
      if (!known.shortens || dimensions > known.size) {
        throw validationFailed([
          {
            field,
            code: 'invalid_value',
            message: known.shortens
              ? `${model} gives at most ${known.size} dimensions`
              : `${model} does not take dimensions`,
          },
        ]);
      }
    }
  }

  /**
   * Routes, settles and records one call. Throws RouteError (recorded as a failed row) when no
   * provider answered, and DomainError `budget_exceeded` when the budget cannot cover it.
   */
  async embed(call: EmbedCall, resolved?: ResolvedModel): Promise<Embedded> {
    const { services } = this;
    const pinned = resolved ?? (await this.resolve(call.model));
    const modelFor = (config: ProviderConfig) => pinned.model ?? this.modelFor(config);
    const reservation = await services.budgets.reserve({
      userId: call.userId,
      reservationId: newId(),
      promptBytes: call.input.reduce((sum, text) => sum + Buffer.byteLength(text), 0),
      // An embedding has no output to pay for.
      maxOutputTokens: 0,
      candidates: async () =>
        candidateModels(await services.router.servableConfigs(), modelFor, pinned.provider),
    });
    const telemetryBase = {
      recipe: 'gateway' as const,
      userId: call.userId,
      prompt: call.input[0] ?? null,
      input: call.recordedInput,
    };
    // Attempts are recorded with the model each provider was sent, not its config's chat model.
    const sentModels = new Map(
      (await services.router.servableConfigs()).map((config) => [
        config.provider,
        modelFor(config),
      ]),
    );
    const withSentModels = (attempts: AttemptRecord[]) => {
      for (const attempt of attempts) attempt.model = sentModels.get(attempt.provider) ?? null;
      return attempts;
    };
    try {
      const routed = await services.router.routeEmbeddings({
        requestId: call.requestId,
        requestedProvider: pinned.provider,
        simulate: call.simulate,
        signal: call.signal,
        build: (config) => ({
          model: modelFor(config),
          input: call.input,
          dimensions: call.dimensions,
          user: call.user,
        }),
      });
      await reservation?.finish(routed.attempts);
      const metadata = { ...routed.metadata, model: modelFor(routed.config) };
      services.telemetry.record(
        telemetryRows({
          ...telemetryBase,
          metadata,
          attempts: withSentModels(routed.attempts),
          status: 'succeeded',
          output: {
            object: 'embeddings',
            count: routed.result.embeddings.length,
            dimensions: routed.result.embeddings[0]?.length ?? 0,
          },
          usage: routed.result.usage,
        }),
      );
      return { result: routed.result, metadata, attempts: routed.attempts };
    } catch (error) {
      await reservation?.finish(error instanceof RouteError ? error.attempts : []);
      if (error instanceof RouteError && error.attempts.length > 0) {
        services.telemetry.record(
          telemetryRows({
            ...telemetryBase,
            metadata: {
              ...error.metadata,
              model: error.metadata.selectedProvider
                ? (sentModels.get(error.metadata.selectedProvider) ?? null)
                : null,
            },
            attempts: withSentModels(error.attempts),
            status: 'failed',
            error: {
              code: error.code,
              message: error.message,
              last: error.lastError?.toJSON() ?? null,
            },
          }),
        );
      }
      throw error;
    }
  }
}
