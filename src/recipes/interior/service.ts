import { asService, asUser, type Claims } from '../../db/context.ts';
import { type SubmitJobInput, SubmitRefused, submitJob } from '../../jobs/submit.ts';
import {
  DomainError,
  type FieldError,
  notFound,
  validationFailed,
} from '../../lib/domain-errors.ts';
import { newId } from '../../lib/uuid.ts';
import { countInFlight } from '../../sql/generation-jobs.ts';
import { remainingGenerations } from '../../sql/usage.ts';
import { ImageRejected, type PreparedImage, prepareUpload } from '../../storage/images.ts';
import { inputPath } from '../../storage/paths.ts';
import { applyPrediction } from './apply-prediction.ts';
import { FAILURE_MESSAGES } from './completion.ts';
import type { InteriorDeps } from './deps.ts';
import { modelFor } from './handler.ts';
import { MODERATION_MESSAGE, moderateText } from './moderation.ts';
import { buildPrompt } from './prompts.ts';
import { webhookUrlFor } from './replicate-input.ts';
import type { InteriorJobInput } from './schema.ts';
import { type InteriorFields, modeFieldErrors } from './schema.ts';
import {
  deleteRender,
  findUploads,
  getRender,
  insertUploads,
  listRenders,
  type RenderRow,
  renderOfGeneration,
  type UploadRow,
} from './sql.ts';

/** At most this many interior jobs of one user are pending or running at once. */
export const INTERIOR_IN_FLIGHT_LIMIT = 1;
/** A running job whose webhook has not come after this long is refreshed from Replicate on read. */
const STALE_AFTER_MS = 60_000;

export interface NewImage {
  bytes: Uint8Array;
  /** Where it came from in the request, for error messages (`body.images[0]`). */
  field: string;
}

export interface SubmitGenerationInput {
  claims: Claims;
  fields: InteriorFields;
  /** Photos uploaded with this request (multipart). */
  images: readonly NewImage[];
  /** Earlier uploads to use again (JSON). */
  uploadIds: readonly string[];
  requestId: string;
  idempotencyKey?: string | null | undefined;
  /** The request's held Idempotency-Key and the answer it records with the job. */
  idempotency?: SubmitJobInput['idempotency'];
  /** The origin the request came in on: webhook and link base when no public URL is configured. */
  origin: string;
  /** `x-genloop-simulate`, passed to the simulator only. */
  simulate?: string | undefined;
}

/**
 * Accepts an interior generation: checks the text (moderation), the mode's
 * inputs and every photo (type sniffed, size and pixel limits, EXIF stripped), then — unless the
 * user already has a generation in flight or no quota left — stores the photos in the private
 * uploads bucket and, in one transaction, inserts the job with its built prompt, the upload rows
 * and the quota reservation. The prediction itself is created by the worker (see
 * {@link interiorHandler}), so a crash anywhere leaves a job the queue finishes.
 * Refusals: DomainError (invalid, refused content, provider unavailable) or SubmitRefused (in
 * flight, quota exceeded).
 */
export async function submitGeneration(
  deps: InteriorDeps,
  input: SubmitGenerationInput,
): Promise<{ id: string; status: 'pending' }> {
  const { fields, claims } = input;
  const userId = claims.sub;
  if (fields.prompt !== undefined) {
    const verdict = moderateText(fields.prompt);
    if (!verdict.allowed) {
      deps.logger.info(
        { user_id: userId, category: verdict.category },
        'prompt refused by moderation',
      );
      throw new DomainError('invalid', 'content_rejected', 'content rejected', {
        detail: MODERATION_MESSAGE,
        errors: [{ field: 'body.prompt', code: 'content_rejected', message: MODERATION_MESSAGE }],
      });
    }
  }
  const imageField = input.uploadIds.length > 0 ? 'body.upload_ids' : 'body.images';
  const modeErrors = modeFieldErrors(
    fields,
    input.images.length + input.uploadIds.length,
    imageField,
  );
  if (input.images.length > 0 && input.uploadIds.length > 0) {
    modeErrors.push({
      field: 'body.upload_ids',
      code: 'conflict',
      message: 'send images or upload_ids, not both',
    });
  }
  if (modeErrors.length > 0) throw validationFailed(modeErrors);

  const prepared = await prepareImages(deps, input.images);
  const reused = await reusedUploads(deps, claims, input.uploadIds);
  if (!deps.replicate || !(await deps.providerConfig())) {
    throw new DomainError(
      'unavailable',
      'provider_unavailable',
      FAILURE_MESSAGES.provider_unavailable,
      {
        detail: 'the image provider (replicate) is disabled in this environment',
      },
    );
  }
  await precheck(deps, userId);

  const id = newId();
  const budget = await renderBudget(deps, userId, fields);
  const uploadsBucket = deps.store.bucketName('uploads');
  const uploads = prepared.map((image, index) => ({
    id: newId(),
    user_id: userId,
    bucket: uploadsBucket,
    path: inputPath(userId, id, index),
    content_type: image.contentType,
    size_bytes: image.bytes.length,
    width: image.width,
    height: image.height,
    sha256: image.sha256,
  }));
  const built = buildPrompt({
    mode: fields.mode,
    prompt: fields.prompt,
    style: fields.style,
    roomType: fields.room_type,
  });
  const linksBase = (deps.config.publicBaseUrl ?? input.origin).replace(/\/+$/, '');
  const jobInput: InteriorJobInput = {
    fields,
    images: [
      ...reused.map((upload) => ({ upload_id: upload.id, path: upload.path })),
      ...uploads.map((upload) => ({ upload_id: upload.id, path: upload.path })),
    ],
    prompt: built.prompt,
    negative_prompt: built.negativePrompt,
    webhook_url: webhookUrlFor({
      configured: deps.config.providers.replicateWebhookUrl,
      publicBaseUrl: deps.config.publicBaseUrl,
      requestOrigin: input.origin,
    }),
    links_base_url: linksBase,
    ...(input.simulate ? { simulate: input.simulate } : {}),
  };

  await Promise.all(
    uploads.map((upload, index) =>
      deps.store.put('uploads', upload.path, prepared[index]!.bytes, upload.content_type),
    ),
  );
  try {
    return await submitJob(deps.db, {
      claims,
      recipe: 'interior',
      row: {
        id,
        mode: fields.mode,
        prompt_version: built.version,
        input: jobInput,
        request_id: input.requestId,
        idempotency_key: input.idempotencyKey ?? null,
      },
      monthlyQuota: deps.config.limits.monthlyQuota,
      inFlightLimit: INTERIOR_IN_FLIGHT_LIMIT,
      alsoWrite: (tx) => insertUploads(tx, uploads, id),
      idempotency: input.idempotency,
      ...(budget ? { budget } : {}),
    });
  } catch (error) {
    // Nothing of a refused submission stays behind, blobs included.
    await deps.store
      .delete(
        'uploads',
        uploads.map((upload) => upload.path),
      )
      .catch((cleanup: unknown) =>
        deps.logger.warn({ err: cleanup, generation_id: id }, 'removing refused uploads failed'),
      );
    throw error;
  }
}

/**
 * A render's reservation: every variant it asks for at the per-image price of the mode's model,
 * or, for a model billed by time, the longest the job may run at its per-second price. Taken in
 * the submitting transaction; undefined when no budget can apply.
 */
async function renderBudget(
  deps: InteriorDeps,
  userId: string,
  fields: InteriorFields,
): Promise<SubmitJobInput['budget'] | undefined> {
  const { budgets, prices } = deps;
  if (!budgets || !prices || !(await budgets.mayApply(userId))) return undefined;
  const config = await deps.providerConfig();
  const amountUsd = prices.imageBound({
    model: config ? modelFor(fields.mode, config) : undefined,
    images: fields.variants,
    maxSeconds: deps.config.jobs.runningTimeoutMs / 1000,
    configPrices: config?.metadata.prices,
  });
  return {
    reserve: (tx, jobId) => budgets.reserveIn(tx, { userId, reservationId: jobId, amountUsd }),
  };
}

/** A generation as `GET /api/v1/generations/:id` shows it. */
export interface GenerationView {
  id: string;
  status: string;
  mode: string | null;
  error?: { code: string; message: string };
  render_id: string | null;
  variants: { url: string; thumbnail_url: string | null; width: number; height: number }[];
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

interface GenerationRow {
  id: string;
  status: string;
  mode: string | null;
  error: { code?: unknown; message?: unknown } | null;
  provider_prediction_id: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/**
 * One of the caller's interior generations with its variant links (undefined when it is not
 * theirs). A job whose webhook is late — still running a minute after it was accepted, or any
 * time `refresh` is asked — is first refreshed from Replicate: the prediction's state is
 * applied as a webhook would apply it.
 */
export async function getGeneration(
  deps: InteriorDeps,
  claims: Claims,
  id: string,
  options: { refresh: boolean; baseUrl: string },
): Promise<GenerationView | undefined> {
  let row = await readGeneration(deps, claims, id);
  if (!row) return undefined;
  if (shouldRefresh(row, options.refresh)) {
    await refreshFromProvider(deps, row);
    row = (await readGeneration(deps, claims, id)) ?? row;
  }
  const render = await asUser(deps.db, claims, (tx) => renderOfGeneration(tx, id));
  const base = (deps.config.publicBaseUrl ?? options.baseUrl).replace(/\/+$/, '');
  return {
    id: row.id,
    status: row.status,
    mode: row.mode,
    ...(row.error ? { error: publicError(row.error) } : {}),
    render_id: render?.id ?? null,
    variants: (render?.variants ?? []).map((variant) => ({
      url: deps.store.publicUrl(variant.path, { baseUrl: base }),
      thumbnail_url: variant.thumbnail_path
        ? deps.store.publicUrl(variant.thumbnail_path, { baseUrl: base })
        : null,
      width: variant.width,
      height: variant.height,
    })),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}

async function readGeneration(
  deps: InteriorDeps,
  claims: Claims,
  id: string,
): Promise<GenerationRow | undefined> {
  return asUser(deps.db, claims, async (tx) => {
    const { rows } = await tx.query<GenerationRow>(
      `select id, status, mode, error, provider_prediction_id, created_at, updated_at, finished_at
         from public.ai_generations where id = $1 and recipe = 'interior'`,
      [id],
    );
    return rows[0];
  });
}

function shouldRefresh(row: GenerationRow, requested: boolean): boolean {
  if (row.provider_prediction_id === null) return false;
  if (row.status === 'timed_out') return requested;
  if (row.status !== 'pending' && row.status !== 'running') return false;
  return requested || Date.now() - row.created_at.getTime() > STALE_AFTER_MS;
}

async function refreshFromProvider(deps: InteriorDeps, row: GenerationRow): Promise<void> {
  const config = await deps.providerConfig();
  if (!deps.replicate || !config || row.provider_prediction_id === null) return;
  try {
    const prediction = await deps.replicate.get(row.provider_prediction_id, {
      timeoutMs: Math.min(config.timeoutMs, 10_000),
    });
    await applyPrediction(deps, prediction);
  } catch (error) {
    // The status read still answers; the worker and the poller keep trying.
    deps.logger.warn({ err: error, generation_id: row.id }, 'refreshing the prediction failed');
  }
}

/** What users see of a job error: its stable code and message, never provider internals. */
function publicError(error: { code?: unknown; message?: unknown }): {
  code: string;
  message: string;
} {
  const code = typeof error.code === 'string' ? error.code : 'failed';
  const known = (FAILURE_MESSAGES as Record<string, string>)[code];
  const message =
    known ??
    (code === 'timed_out'
      ? 'the generation took too long and was stopped'
      : 'the generation failed');
  return { code, message };
}

async function prepareImages(
  deps: InteriorDeps,
  images: readonly NewImage[],
): Promise<PreparedImage[]> {
  const prepared: PreparedImage[] = [];
  const errors: FieldError[] = [];
  for (const image of images) {
    try {
      prepared.push(
        await prepareUpload(image.bytes, { maxPixels: deps.config.interior.maxInputPixels }),
      );
    } catch (error) {
      if (!(error instanceof ImageRejected)) throw error;
      errors.push({ field: image.field, code: error.code, message: error.message });
    }
  }
  if (errors.length > 0) {
    throw new DomainError('invalid', 'invalid_image', 'an uploaded image was refused', {
      detail: errors.map((error) => `${error.field}: ${error.message}`).join('; '),
      errors,
    });
  }
  return prepared;
}

async function reusedUploads(
  deps: InteriorDeps,
  claims: Claims,
  ids: readonly string[],
): Promise<UploadRow[]> {
  if (ids.length === 0) return [];
  const found = await asUser(deps.db, claims, (tx) => findUploads(tx, ids));
  const known = new Set(found.map((upload) => upload.id));
  const missing = ids
    .map((id, index) => ({ id, index }))
    .filter(({ id }) => !known.has(id.toLowerCase()));
  if (missing.length > 0) {
    throw validationFailed(
      missing.map(({ index }) => ({
        field: `body.upload_ids.${index}`,
        code: 'not_found',
        message: 'no upload of yours has this id',
      })),
    );
  }
  return found;
}

/** A cheap early refusal, so a request that cannot be accepted stores nothing; submitJob decides. */
async function precheck(deps: InteriorDeps, userId: string): Promise<void> {
  await asService(deps.db, async (tx) => {
    if ((await countInFlight(tx, userId, 'interior')) >= INTERIOR_IN_FLIGHT_LIMIT) {
      throw new SubmitRefused('job_in_flight', 'another interior generation is still in progress');
    }
    const quota = deps.config.limits.monthlyQuota;
    if ((await remainingGenerations(tx, userId, quota)).remaining <= 0) {
      throw new SubmitRefused(
        'quota_exceeded',
        `the monthly allowance of ${quota} generations is used up`,
      );
    }
  });
}

/** One page of the caller's renders, newest first, and whether another follows. */
export async function listRenderPage(
  deps: InteriorDeps,
  claims: Claims,
  query: Omit<Parameters<typeof listRenders>[1], 'limit'> & { limit: number },
): Promise<{ rows: Awaited<ReturnType<typeof listRenders>>; more: boolean }> {
  const rows = await asUser(deps.db, claims, (tx) =>
    listRenders(tx, { ...query, limit: query.limit + 1 }),
  );
  return { rows: rows.slice(0, query.limit), more: rows.length > query.limit };
}

/** One of the caller's renders with its variants. */
export async function renderOf(deps: InteriorDeps, claims: Claims, id: string): Promise<RenderRow> {
  const row = await asUser(deps.db, claims, (tx) => getRender(tx, id));
  if (!row) throw notFound('render');
  return row;
}

/**
 * Deletes one of the caller's renders with its variants, then their images. The blobs go after
 * the commit: a failed blob delete leaves an orphan file, never a row without its image.
 */
export async function deleteRenderOf(
  deps: InteriorDeps,
  claims: Claims,
  id: string,
): Promise<void> {
  const variants = await asUser(deps.db, claims, (tx) => deleteRender(tx, id));
  if (!variants) throw notFound('render');
  const paths = variants.flatMap((variant) =>
    variant.thumbnail_path ? [variant.path, variant.thumbnail_path] : [variant.path],
  );
  await deps.store.delete('renders', paths).catch((error: unknown) => {
    deps.logger.warn({ err: error, render_id: id }, 'deleting render blobs failed');
  });
}
