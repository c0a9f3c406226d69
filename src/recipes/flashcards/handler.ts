import { z } from 'zod';
import { attemptsCost, type BudgetGate } from '../../budgets/gate.ts';
import { TextArrayParam } from '../../db/params.ts';
import type { Queryable } from '../../db/types.ts';
import { type BatchWriter, batched, type JobHandler } from '../../jobs/types.ts';
import { newId } from '../../lib/uuid.ts';
import { ProviderError } from '../../providers/errors.ts';
import { RouteError, type Router } from '../../routing/router.ts';
import type { AttemptRecord } from '../../routing/types.ts';
import type { ClaimedJob } from '../../sql/claim-jobs.ts';
import { telemetryRows } from '../../telemetry/rows.ts';
import { flashcardTemplate } from './prompts.ts';
import { FLASHCARDS_SCHEMA_NAME, type Flashcard, flashcardsOutputSchema } from './schema.ts';

export const DEFAULT_MODEL = 'openai/gpt-4o-mini';
/**
 * The output a flashcard job may take when its user has a budget: what its reservation is made
 * for, sent as `max_tokens` so the provider cannot answer past it. Twenty cards of a question
 * and a short answer fit well within it.
 */
export const FLASHCARDS_MAX_OUTPUT_TOKENS = 4096;
const OUTPUT_JSON_SCHEMA = z.toJSONSchema(flashcardsOutputSchema, { io: 'input' }) as Record<
  string,
  unknown
>;

/** Everything a job sends as its prompt (system, user block, schema), in bytes. */
export function flashcardPromptBytes(
  sourceText: string,
  promptVersion: string | null | undefined,
): number {
  const { template } = flashcardTemplate(promptVersion);
  return (
    Buffer.byteLength(template.system) +
    Buffer.byteLength(template.user(sourceText)) +
    Buffer.byteLength(JSON.stringify(OUTPUT_JSON_SCHEMA))
  );
}

/**
 * The worker side of the flashcard flow: calls the router (OpenRouter preferred), normalises the answer to
 * `{front, back}[]`, and hands the worker the suggestions insert, the job update and the
 * telemetry row to write in the completing transaction.
 */
export function flashcardHandler(deps: { router: Router; budgets?: BudgetGate }): JobHandler {
  return {
    async run(job: ClaimedJob, signal: AbortSignal) {
      const sourceText = job.source_text ?? '';
      const { version, template } = flashcardTemplate(job.prompt_version);
      const requestId = job.request_id ?? job.id;
      const simulate = typeof job.input.simulate === 'string' ? job.input.simulate : undefined;
      // Set only on a job that reserved against a budget: its cap is what was reserved for.
      const maxOutput = job.input.max_output_tokens;
      const reserved = typeof maxOutput === 'number';
      const cap = reserved ? { max_tokens: maxOutput } : {};
      // The job's reservation (keyed by its id) grows before an attempt that follows a paid one.
      const { budgets } = deps;
      const cover =
        reserved && budgets
          ? {
              beforeAttempt: (attempts: readonly AttemptRecord[]) =>
                budgets.cover(job.id, attempts),
            }
          : {};
      const telemetryBase = {
        recipe: 'flashcards' as const,
        userId: job.user_id,
        generationId: job.id,
        prompt: sourceText,
        input: { model: job.model, prompt_version: job.prompt_version },
      };
      try {
        const routed = await deps.router.route<Flashcard[]>({
          requestId,
          preferredProvider: 'openrouter',
          simulate,
          signal,
          templateVersion: () => version,
          build: (config) => ({
            model: job.model ?? config.model ?? DEFAULT_MODEL,
            temperature: 0.2,
            ...cap,
            messages: [
              { role: 'system', content: template.system },
              { role: 'user', content: template.user(sourceText) },
            ],
            response_format: {
              type: 'json_schema',
              json_schema: {
                name: FLASHCARDS_SCHEMA_NAME,
                schema: OUTPUT_JSON_SCHEMA,
                strict: false,
              },
            },
          }),
          accept: (result, config) => normalise(result.content, config.provider),
          ...cover,
        });
        const { value: cards, metadata, result } = routed;
        return {
          result: {
            status: 'succeeded',
            output: { cards: cards.length },
            provider: metadata.selectedProvider,
            requestId,
            tokensInput: result.usage.inputTokens ?? null,
            tokensOutput: result.usage.outputTokens ?? null,
            costUsd: result.usage.costUsd ?? null,
            aiMetadata: {
              model: result.completion.model,
              provider: metadata.selectedProvider,
              latency_ms: metadata.latencyMs,
              provider_request_id: result.providerRequestId ?? null,
              prompt_version: version,
              route_strategy: metadata.routeStrategy,
              fallback_used: metadata.fallbackUsed,
            },
          },
          results: batched(suggestionsWriter, { job, cards }),
          spentUsd: attemptsCost(routed.attempts),
          telemetry: telemetryRows({
            ...telemetryBase,
            metadata,
            attempts: routed.attempts,
            status: 'succeeded',
            output: { cards },
            usage: result.usage,
            schemaValid: true,
          }),
        };
      } catch (error) {
        if (!(error instanceof RouteError)) throw error;
        const diagnostic = {
          code: error.code,
          message: error.message,
          request_id: requestId,
          latency_ms: error.metadata.latencyMs,
          attempts: error.attempts.map((attempt) => ({
            provider: attempt.provider,
            status: attempt.status,
            error_class: attempt.errorClass,
            http_status: attempt.httpStatus,
            latency_ms: attempt.latencyMs,
            error: attempt.error,
          })),
        };
        return {
          result: {
            status: 'failed',
            error: diagnostic,
            requestId,
            provider: error.metadata.selectedProvider,
            aiMetadata: { prompt_version: version, route_strategy: error.metadata.routeStrategy },
          },
          // Answers that were paid for but unusable (invalid output) stay spent; the rest is refunded.
          spentUsd: attemptsCost(error.attempts),
          ...(error.attempts.length > 0
            ? {
                telemetry: telemetryRows({
                  ...telemetryBase,
                  metadata: error.metadata,
                  attempts: error.attempts,
                  status: 'failed',
                  error: diagnostic,
                  schemaValid: error.lastError?.errorClass === 'invalid_output' ? false : null,
                }),
              }
            : {}),
        };
      }
    },
  };
}

/** Parses the model's answer into cards; anything else is an `invalid_output` to fall back on. */
export function normalise(content: string, provider: ProviderError['provider']): Flashcard[] {
  const invalid = (message: string) =>
    new ProviderError({ provider, message, errorClass: 'invalid_output', retryable: false });
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    throw invalid('the answer is not JSON');
  }
  const candidate = Array.isArray(json) ? { cards: json } : json;
  const parsed = flashcardsOutputSchema.safeParse(candidate);
  if (!parsed.success)
    throw invalid(`the answer is not a list of cards: ${parsed.error.issues[0]?.message}`);
  const seen = new Set<string>();
  return parsed.data.cards.filter((card) => {
    const key = card.front.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The suggestions of every job completed in one transaction, in one statement; the unique
 * (generation_id, position) keeps each generation to one set. Their ids are genloop's own,
 * time-ordered: ten rows per job would otherwise land on ten random pages of the primary key.
 */
const suggestionsWriter: BatchWriter<{ job: ClaimedJob; cards: readonly Flashcard[] }> = {
  async write(tx: Queryable, items) {
    const ids: string[] = [];
    const generationIds: string[] = [];
    const userIds: string[] = [];
    const positions: number[] = [];
    const fronts: string[] = [];
    const backs: string[] = [];
    for (const { job, cards } of items) {
      cards.forEach((card, index) => {
        ids.push(newId());
        generationIds.push(job.id);
        userIds.push(job.user_id);
        positions.push(index + 1);
        fronts.push(card.front);
        backs.push(card.back);
      });
    }
    if (positions.length === 0) return;
    await tx.query(
      `insert into public.ai_suggestions (id, generation_id, user_id, position, front, back, status)
       select id, generation_id, user_id, position, front, back, 'proposed'
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::integer[], $5::text[], $6::text[])
                as card(id, generation_id, user_id, position, front, back)`,
      [
        ids,
        generationIds,
        userIds,
        positions,
        new TextArrayParam(fronts),
        new TextArrayParam(backs),
      ],
    );
  },
};
