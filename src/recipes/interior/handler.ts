import type { JobHandler, JobOutcome } from '../../jobs/types.ts';
import { ProviderError } from '../../providers/errors.ts';
import type { ReplicateClient } from '../../providers/replicate/client.ts';
import { createMayHaveHappened } from '../../providers/replicate/errors.ts';
import { isTerminal, type Prediction } from '../../providers/replicate/prediction.ts';
import { backoffDelay, sleep } from '../../routing/backoff.ts';
import type { AttemptRecord, ProviderConfig } from '../../routing/types.ts';
import type { ClaimedJob } from '../../sql/claim-jobs.ts';
import { attachPrediction, jobStatus } from '../../sql/generation-jobs.ts';
import type { Mode } from './catalog.ts';
import {
  type Completion,
  completionFromPrediction,
  FAILURE_MESSAGES,
  failureCompletion,
  type InteriorJob,
  parseInteriorJob,
  writeRender,
} from './completion.ts';
import type { InteriorDeps } from './deps.ts';
import { toReplicateInput, webhookUrlFor } from './replicate-input.ts';

/** How long the photo links handed to the provider stay valid. */
const INPUT_LINK_SECONDS = 3_600;

/**
 * The worker side of the interior flow (docs/interior.md, "Job lifecycle"). A claimed job
 * without a prediction creates one (genloop's own backoff; a create that may have gone through
 * is never sent again) and stores the prediction id at once in its own transaction; a job that
 * already has one — a rerun after a crash — resumes it instead of paying for another. The
 * worker then waits for the prediction, woken by the webhook or polling as
 * a backup, copies the outputs into storage, and hands back the render rows, the job's status,
 * the ledger entry and the telemetry for the worker's one completing transaction.
 */
export function interiorHandler(deps: InteriorDeps): JobHandler {
  return { run: (job, signal) => runInteriorJob(deps, job, signal) };
}

async function runInteriorJob(
  deps: InteriorDeps,
  claimed: ClaimedJob,
  signal: AbortSignal,
): Promise<JobOutcome> {
  const job = parseInteriorJob(claimed);
  if (!job) {
    // Not an input this handler wrote: nothing was called, so there is no telemetry to keep.
    return {
      result: {
        status: 'failed',
        error: { code: 'invalid_job', message: FAILURE_MESSAGES.invalid_job },
      },
    };
  }
  const config = await deps.providerConfig();
  const client = deps.replicate;
  if (!config || !client) {
    return outcome(
      job,
      failureCompletion(job, {
        code: 'provider_unavailable',
        errorClass: 'unknown',
        model: null,
      }),
    );
  }
  const model = modelFor(job.input.fields.mode, config);
  const attempts: AttemptRecord[] = [];
  let predictionId = claimed.provider_prediction_id;
  let prediction: Prediction | undefined;
  if (!predictionId) {
    try {
      prediction = await createPrediction(deps, client, job, config, model, attempts, signal);
    } catch (error) {
      if (signal.aborted || !(error instanceof ProviderError)) throw error;
      return outcome(
        job,
        failureCompletion(job, {
          code: createMayHaveHappened(error) ? 'provider_create_unknown' : 'provider_error',
          errorClass: error.errorClass,
          attempts,
          model,
          providerError: error.message,
          httpStatus: error.status ?? null,
        }),
      );
    }
    predictionId = prediction.id;
    const attached = await attachPrediction(deps.db, {
      jobId: job.id,
      attempts: claimed.attempts,
      provider: 'replicate',
      predictionId,
    });
    if (!attached) {
      // Canceled, timed out or re-leased meanwhile: nobody will use this prediction.
      await cancelQuietly(deps, client, predictionId, config);
      throw new Error('the job changed state while its prediction was being created');
    }
  }

  try {
    prediction = await waitForPrediction(deps, client, predictionId, prediction, config, signal);
  } catch (error) {
    if (signal.aborted) {
      if ((await jobStatus(deps.db, job.id).catch(() => undefined)) === 'canceled') {
        await cancelQuietly(deps, client, predictionId, config);
      }
      throw error;
    }
    if (!(error instanceof ProviderError)) throw error;
    return outcome(
      job,
      failureCompletion(job, {
        code: 'provider_error',
        errorClass: error.errorClass,
        attempts,
        model,
        providerError: error.message,
        predictionId,
      }),
    );
  }
  return outcome(
    job,
    await completionFromPrediction(deps, job, prediction, {
      model,
      priorAttempts: attempts,
      signal,
      configPrices: config.metadata.prices,
    }),
  );
}

function outcome(job: InteriorJob, completion: Completion): JobOutcome {
  return {
    result: completion.result,
    writeResults: (tx) => writeRender(tx, job, completion),
    telemetry: completion.telemetry,
    spentUsd: completion.spentUsd,
  };
}

/** The model of a mode: `metadata.models[mode]` of the provider row, else its `model`. */
export function modelFor(mode: Mode, config: ProviderConfig): string {
  const models = config.metadata.models;
  const override =
    models && typeof models === 'object' ? (models as Record<string, unknown>)[mode] : undefined;
  return typeof override === 'string' && override !== ''
    ? override
    : (config.model ?? 'black-forest-labs/flux-dev');
}

async function createPrediction(
  deps: InteriorDeps,
  client: ReplicateClient,
  job: InteriorJob,
  config: ProviderConfig,
  model: string,
  attempts: AttemptRecord[],
  signal: AbortSignal,
): Promise<Prediction> {
  const { input } = job;
  // With a public URL configured, links and the webhook come from it, never from the row.
  const publicBaseUrl = deps.config.publicBaseUrl;
  const linksBaseUrl = publicBaseUrl ?? input.links_base_url;
  const webhook =
    (deps.config.providers.replicateWebhookUrl ?? publicBaseUrl) !== undefined
      ? webhookUrlFor({
          configured: deps.config.providers.replicateWebhookUrl,
          publicBaseUrl,
          requestOrigin: input.webhook_url,
        })
      : input.webhook_url;
  const imageUrls = await Promise.all(
    input.images.map((image) =>
      deps.store.signedUrl('uploads', image.path, {
        expiresInSeconds: INPUT_LINK_SECONDS,
        baseUrl: linksBaseUrl,
      }),
    ),
  );
  const request = {
    model,
    input: toReplicateInput({
      mode: input.fields.mode,
      prompt: input.prompt,
      negativePrompt: input.negative_prompt,
      aspectRatio: input.fields.aspect_ratio,
      quality: input.fields.quality,
      variants: input.fields.variants,
      imageUrls,
    }),
    webhook,
    webhookEventsFilter: ['completed' as const],
  };
  const headers =
    client.servedBy === 'simulator' && input.simulate
      ? { 'x-genloop-simulate': input.simulate }
      : undefined;
  for (let retry = 0; ; retry++) {
    const started = performance.now();
    try {
      return await client.create(request, { timeoutMs: config.timeoutMs, signal, headers });
    } catch (caught) {
      const error =
        caught instanceof ProviderError
          ? caught
          : new ProviderError({
              provider: 'replicate',
              message: String(caught),
              errorClass: 'unknown',
              retryable: false,
              cause: caught,
            });
      attempts.push({
        attemptNo: attempts.length + 1,
        provider: 'replicate',
        model,
        status: error.errorClass === 'timeout' ? 'timeout' : 'failed',
        errorClass: error.errorClass,
        httpStatus: error.status ?? null,
        latencyMs: Math.round(performance.now() - started),
        ttfbMs: null,
        retryAfterMs: error.retryAfterMs ?? null,
        error: error.toJSON(),
        createdAt: new Date(),
      });
      // Only a create known not to have gone through may be sent again: a retried create that
      // had in fact gone through would pay for a second prediction.
      if (
        signal.aborted ||
        !error.retryable ||
        createMayHaveHappened(error) ||
        retry >= config.maxRetries
      ) {
        throw error;
      }
      await sleep(backoffDelay(retry, error.retryAfterMs, deps.backoff), signal);
    }
  }
}

/**
 * Waits until the prediction ends: woken by its webhook (through {@link PredictionSignals}),
 * or polling with a doubling interval as the backup for webhooks that never come. Transient
 * poll failures are retried on the next round; the job's running timeout bounds the wait.
 */
async function waitForPrediction(
  deps: InteriorDeps,
  client: ReplicateClient,
  predictionId: string,
  known: Prediction | undefined,
  config: ProviderConfig,
  signal: AbortSignal,
): Promise<Prediction> {
  let current = known;
  let delay = deps.pollDelays.initialMs;
  for (let round = 0; current === undefined || !isTerminal(current.status); round++) {
    if (current !== undefined) {
      await deps.signals.wait(predictionId, delay, signal);
      delay = Math.min(delay * 2, deps.pollDelays.maxMs);
    }
    try {
      current = await client.get(predictionId, { timeoutMs: config.timeoutMs, signal });
    } catch (error) {
      if (signal.aborted || !(error instanceof ProviderError) || !error.retryable) throw error;
      deps.logger.warn(
        { err: error, prediction_id: predictionId, round },
        'polling the prediction failed; will retry',
      );
      if (current === undefined) await sleep(delay, signal);
    }
  }
  return current;
}

async function cancelQuietly(
  deps: InteriorDeps,
  client: ReplicateClient,
  predictionId: string,
  config: ProviderConfig,
): Promise<void> {
  await client.cancel(predictionId, { timeoutMs: config.timeoutMs }).catch((error: unknown) => {
    deps.logger.warn(
      { err: error, prediction_id: predictionId },
      'canceling the prediction failed',
    );
  });
}
