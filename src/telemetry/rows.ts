import { isoTimestamp } from '../lib/iso-time.ts';
import { newId } from '../lib/uuid.ts';
import type { AttemptRecord, RouteMetadata } from '../routing/types.ts';
import type { ProviderAttemptRow, TrainingExampleRow } from '../sql/insert-telemetry.ts';

/** What one generation contributes to telemetry: its training row and its attempts. */
export interface GenerationTelemetry {
  example: TrainingExampleRow;
  attempts: ProviderAttemptRow[];
}

export interface GenerationFacts {
  metadata: RouteMetadata;
  attempts: readonly AttemptRecord[];
  recipe: TrainingExampleRow['recipe'];
  status: TrainingExampleRow['status'];
  userId: string | null;
  generationId?: string | null;
  source?: TrainingExampleRow['source'];
  prompt?: string | null;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  usage?: {
    inputTokens?: number | undefined;
    outputTokens?: number | undefined;
    costUsd?: number | undefined;
  };
  schemaValid?: boolean | null;
  patchApplySuccess?: boolean | null;
  safetyCompliant?: boolean | null;
}

/**
 * Builds the rows for one generation; the routing fields (request id, providers, route
 * strategy, fallback, latency, prompt template version) come straight from the route metadata
 * the response carries, so row and response always agree. Its attempts carry the training row's
 * id, so that generations sharing a request id keep theirs.
 */
export function telemetryRows(facts: GenerationFacts): GenerationTelemetry {
  const { metadata } = facts;
  const generationId = facts.generationId ?? null;
  // Minted here, never taken from the request: the request id is the client's to repeat, so the
  // attempts are keyed by this id instead.
  const exampleId = newId();
  return {
    example: {
      id: exampleId,
      user_id: facts.userId,
      source: facts.source ?? 'generation',
      recipe: facts.recipe,
      generation_id: generationId,
      status: facts.status,
      prompt: facts.prompt ?? null,
      input: facts.input ?? null,
      output: facts.output ?? null,
      model: metadata.model,
      request_id: metadata.requestId,
      requested_provider: metadata.requestedProvider,
      selected_provider: metadata.selectedProvider,
      route_strategy: metadata.routeStrategy,
      fallback_provider: metadata.fallbackProvider,
      fallback_used: metadata.fallbackUsed,
      latency_ms: metadata.latencyMs,
      prompt_template_version: metadata.promptTemplateVersion,
      planned_provider: metadata.plannedProvider ?? null,
      environment: metadata.environment ?? null,
      error: facts.error ?? null,
      tokens_input: facts.usage?.inputTokens ?? null,
      tokens_output: facts.usage?.outputTokens ?? null,
      cost_usd: facts.usage?.costUsd ?? null,
      schema_valid: facts.schemaValid ?? null,
      patch_apply_success: facts.patchApplySuccess ?? null,
      safety_compliant: facts.safetyCompliant ?? null,
      created_at: isoTimestamp(),
    },
    attempts: facts.attempts.map((attempt) => ({
      training_example_id: exampleId,
      request_id: metadata.requestId,
      generation_id: generationId,
      attempt_no: attempt.attemptNo,
      provider: attempt.provider,
      model: attempt.model,
      status: attempt.status,
      error_class: attempt.errorClass,
      http_status: attempt.httpStatus,
      latency_ms: attempt.latencyMs,
      ttfb_ms: attempt.ttfbMs,
      retry_after_ms: attempt.retryAfterMs,
      error: attempt.error,
      cost_usd: attempt.costUsd ?? null,
      created_at: isoTimestamp(attempt.createdAt.getTime()),
    })),
  };
}
