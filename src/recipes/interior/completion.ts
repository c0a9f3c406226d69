import type { Queryable } from '../../db/types.ts';
import type { ErrorClass } from '../../providers/errors.ts';
import {
  isTerminal,
  outputUrls,
  type Prediction,
  predictionError,
  predictionLatencyMs,
} from '../../providers/replicate/prediction.ts';
import type { AttemptRecord } from '../../routing/types.ts';
import type { JobResult } from '../../sql/finish-job.ts';
import { AssetFetchError } from '../../storage/asset-fetch.ts';
import { ImageRejected } from '../../storage/images.ts';
import { isOwnedPath } from '../../storage/paths.ts';
import { type GenerationTelemetry, telemetryRows } from '../../telemetry/rows.ts';
import { storeVariants } from './assets.ts';
import type { InteriorDeps } from './deps.ts';
import { INTERIOR_PROMPT_VERSION } from './prompts.ts';
import { type InteriorJobInput, interiorJobInputSchema } from './schema.ts';
import { insertRender, type VariantRow } from './sql.ts';

/** An interior job with its stored input parsed. */
export interface InteriorJob {
  id: string;
  user_id: string;
  request_id: string | null;
  prompt_version: string | null;
  created_at: Date;
  input: InteriorJobInput;
}

/** Stable codes of a failed interior job (`ai_generations.error.code`), with what users see. */
export const FAILURE_MESSAGES = {
  provider_unavailable: 'image generation is not available right now',
  provider_error: 'the image provider refused the request',
  provider_create_unknown:
    'the image provider did not confirm the request; nothing was charged, please try again',
  provider_failed: 'the image model could not finish this generation',
  provider_canceled: 'the generation was canceled at the image provider',
  no_output: 'the image provider returned no images',
  asset_rejected: 'the image provider returned an image that could not be accepted',
  asset_download_failed: 'the generated images could not be downloaded',
  invalid_job: 'the generation request could not be read',
} as const;
export type FailureCode = keyof typeof FAILURE_MESSAGES;

/** How a job ends: the job update, the render rows to write with it, and its telemetry. */
export interface Completion {
  result: JobResult;
  variants: Omit<VariantRow, 'content_type'>[] | null;
  telemetry: GenerationTelemetry;
  /**
   * What the job's prediction cost, to settle its dollar reservation: 'nothing' when no
   * prediction ran (refund), null when one ran and its cost is unknown (kept as spent).
   */
  spentUsd: number | null | 'nothing';
}

/** Parses a job row's input; undefined when it is not an interior job input. */
export function parseInteriorJob(row: {
  id: string;
  user_id: string;
  request_id: string | null;
  prompt_version: string | null;
  created_at: Date;
  input: unknown;
}): InteriorJob | undefined {
  const parsed = interiorJobInputSchema.safeParse(row.input);
  if (!parsed.success) return undefined;
  // Photos are signed and handed to the provider: only the job owner's own may be.
  if (!parsed.data.images.every((image) => isOwnedPath(row.user_id, image.path))) return undefined;
  return {
    id: row.id,
    user_id: row.user_id,
    request_id: row.request_id,
    prompt_version: row.prompt_version,
    created_at: row.created_at,
    input: parsed.data,
  };
}

/**
 * Turns a finished prediction into the job's completion: on success the outputs are copied
 * into storage ({@link storeVariants}) and the render is ready to write; a failed or canceled
 * prediction, an empty output or an output refused by the download rules ends the job failed.
 */
export async function completionFromPrediction(
  deps: InteriorDeps,
  job: InteriorJob,
  prediction: Prediction,
  options: {
    model: string | null;
    priorAttempts?: readonly AttemptRecord[];
    signal?: AbortSignal;
    /** `metadata.prices` of the replicate config row, which beats the built-in prices. */
    configPrices?: unknown;
  },
): Promise<Completion> {
  if (!isTerminal(prediction.status))
    throw new Error(`prediction ${prediction.id} is still running`);
  const latencyMs = predictionLatencyMs(prediction);
  const model = prediction.model ?? options.model;
  // Per-second models bill a failed prediction's time too; per-image ones bill images only.
  const costOf = (images: number) =>
    deps.prices?.imageCost({
      model,
      images,
      predictSeconds: prediction.metrics?.predict_time,
      configPrices: options.configPrices,
    }) ?? null;
  const base = {
    attempts: options.priorAttempts ?? [],
    model,
    latencyMs,
    predictionId: prediction.id,
    costUsd: costOf(0),
  };
  if (prediction.status !== 'succeeded') {
    const canceled = prediction.status === 'canceled' || prediction.status === 'aborted';
    return failureCompletion(job, {
      ...base,
      code: canceled ? 'provider_canceled' : 'provider_failed',
      errorClass: canceled ? 'canceled' : 'unknown',
      providerError: predictionError(prediction),
    });
  }
  // At most the variants asked for: a prediction (or a forged body) cannot make genloop fetch more.
  const urls = outputUrls(prediction).slice(0, job.input.fields.variants);
  if (urls.length === 0) {
    return failureCompletion(job, { ...base, code: 'no_output', errorClass: 'invalid_output' });
  }
  let variants: Omit<VariantRow, 'content_type'>[];
  try {
    variants = await storeVariants(deps, job, urls, options.signal);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const refused =
      (error instanceof AssetFetchError && !error.retryable) || error instanceof ImageRejected;
    if (!refused && !(error instanceof AssetFetchError)) throw error;
    deps.logger.warn(
      { err: error, generation_id: job.id, prediction_id: prediction.id },
      'prediction output not stored',
    );
    return failureCompletion(job, {
      ...base,
      code: refused ? 'asset_rejected' : 'asset_download_failed',
      errorClass: 'invalid_output',
      // The images were made (and billed) even though they could not be kept.
      costUsd: costOf(urls.length),
      providerError: error instanceof Error ? error.message : String(error),
    });
  }
  const output = {
    prediction_id: prediction.id,
    variants: variants.map(({ idx, path, width, height }) => ({ idx, path, width, height })),
  };
  const costUsd = costOf(urls.length);
  return {
    result: {
      status: 'succeeded',
      output,
      provider: 'replicate',
      requestId: job.request_id ?? job.id,
      aiMetadata: aiMetadata(job, model, latencyMs, prediction.id),
      costUsd,
    },
    variants,
    telemetry: telemetryRows({
      ...telemetryBase(job, model, latencyMs),
      attempts: [
        ...base.attempts,
        predictionAttempt(
          base.attempts.length + 1,
          model,
          latencyMs,
          'succeeded',
          null,
          null,
          costUsd,
        ),
      ],
      status: 'succeeded',
      output,
      ...(costUsd === null ? {} : { usage: { costUsd } }),
    }),
    spentUsd: costUsd,
  };
}

/**
 * A failed completion with its stable code. `attempts` are the provider calls made so far; when
 * a prediction ran (`predictionId`), it is recorded as one more attempt.
 */
export function failureCompletion(
  job: InteriorJob,
  failure: {
    code: FailureCode;
    errorClass: ErrorClass;
    attempts?: readonly AttemptRecord[];
    model: string | null;
    latencyMs?: number | null;
    predictionId?: string | null;
    providerError?: string | null;
    httpStatus?: number | null;
    /** What the prediction that ran cost (null: unknown); only read when one ran. */
    costUsd?: number | null;
  },
): Completion {
  const costUsd = failure.predictionId ? (failure.costUsd ?? null) : null;
  const error = {
    code: failure.code,
    message: FAILURE_MESSAGES[failure.code],
    ...(failure.providerError ? { provider_error: failure.providerError.slice(0, 1_000) } : {}),
    ...(failure.predictionId ? { prediction_id: failure.predictionId } : {}),
  };
  const latencyMs = failure.latencyMs ?? null;
  const attempts = [...(failure.attempts ?? [])];
  if (failure.predictionId) {
    attempts.push(
      predictionAttempt(
        attempts.length + 1,
        failure.model,
        latencyMs,
        'failed',
        failure.errorClass,
        {
          message: failure.providerError ?? error.message,
        },
        costUsd,
      ),
    );
  }
  return {
    result: {
      status: 'failed',
      error,
      provider: 'replicate',
      requestId: job.request_id ?? job.id,
      aiMetadata: aiMetadata(job, failure.model, latencyMs, failure.predictionId ?? null),
      costUsd,
    },
    variants: null,
    telemetry: telemetryRows({
      ...telemetryBase(job, failure.model, latencyMs),
      attempts,
      status: 'failed',
      error,
      ...(costUsd === null ? {} : { usage: { costUsd } }),
    }),
    // A prediction that ran but cost nothing (a per-image model that made no image) is refunded.
    spentUsd: failure.predictionId && costUsd !== 0 ? costUsd : 'nothing',
  };
}

/** Writes the render and its variants of a successful completion (inside the completing transaction). */
export async function writeRender(
  tx: Queryable,
  job: InteriorJob,
  completion: Completion,
): Promise<void> {
  if (!completion.variants) return;
  const { fields } = job.input;
  await insertRender(tx, {
    generationId: job.id,
    userId: job.user_id,
    mode: fields.mode,
    style: fields.style ?? null,
    roomType: fields.room_type ?? null,
    prompt: fields.prompt ?? null,
    variants: completion.variants,
  });
}

function telemetryBase(job: InteriorJob, model: string | null, latencyMs: number | null) {
  const { fields } = job.input;
  return {
    recipe: 'interior' as const,
    userId: job.user_id,
    generationId: job.id,
    prompt: job.input.prompt,
    input: { ...fields, images: job.input.images.length },
    metadata: {
      requestId: job.request_id ?? job.id,
      routeStrategy: 'single_provider' as const,
      requestedProvider: 'replicate' as const,
      selectedProvider: 'replicate' as const,
      fallbackProvider: null,
      fallbackUsed: false,
      latencyMs: Math.max(0, latencyMs ?? 0),
      promptTemplateVersion: job.prompt_version ?? INTERIOR_PROMPT_VERSION,
      model,
    },
  };
}

function predictionAttempt(
  attemptNo: number,
  model: string | null,
  latencyMs: number | null,
  status: 'succeeded' | 'failed',
  errorClass: ErrorClass | null,
  error: Record<string, unknown> | null,
  costUsd: number | null = null,
): AttemptRecord {
  return {
    costUsd,
    attemptNo,
    provider: 'replicate',
    model,
    status,
    errorClass,
    httpStatus: null,
    latencyMs: Math.max(0, latencyMs ?? 0),
    ttfbMs: null,
    retryAfterMs: null,
    error,
    createdAt: new Date(),
  };
}

function aiMetadata(
  job: InteriorJob,
  model: string | null,
  latencyMs: number | null,
  predictionId: string | null,
): Record<string, unknown> {
  return {
    provider: 'replicate',
    model,
    prompt_version: job.prompt_version ?? INTERIOR_PROMPT_VERSION,
    prediction_id: predictionId,
    latency_ms: latencyMs,
    route_strategy: 'single_provider',
  };
}
