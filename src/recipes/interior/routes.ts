import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { decodeCursor, encodeCursor } from '../../http/cursor.ts';
import { HttpError } from '../../http/http-error.ts';
import { bodyLimit } from '../../http/middleware/body-limit/index.ts';
import { heldIdempotencyKey, idempotency } from '../../http/middleware/idempotency/index.ts';
import { strictJsonText } from '../../http/middleware/strict-json/index.ts';
import {
  problemContent as problem,
  bearerSecurity as security,
} from '../../http/problem-schema.ts';
import { serialise, uuidOr404 } from '../../http/route-helpers.ts';
import {
  fieldErrors,
  invalidText,
  validationFailed,
  validationHook,
} from '../../http/validation.ts';
import { cancelJob } from '../../jobs/cancel.ts';
import { verifyStandardWebhook } from '../../jobs/webhooks/standard-webhooks.ts';
import type { FieldError } from '../../lib/domain-errors.ts';
import { notFound } from '../../lib/domain-errors.ts';
import { isStorableText, toStorableText, wasUtf8In } from '../../lib/storable-text.ts';
import { predictionSchema } from '../../providers/replicate/prediction.ts';
import type { Services } from '../../services.ts';
import { webhookEventSeen } from '../../sql/webhook-events.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import { applyPrediction } from './apply-prediction.ts';
import { MODES, ROOM_TYPE_NAMES, STYLE_NAMES } from './catalog.ts';
import type { InteriorDeps } from './deps.ts';
import type { Interior } from './index.ts';
import { WEBHOOK_PATH } from './replicate-input.ts';
import { type InteriorFields, interiorFieldsSchema, interiorJsonSchema } from './schema.ts';
import {
  deleteRenderOf,
  getGeneration,
  listRenderPage,
  type NewImage,
  renderOf,
  submitGeneration,
} from './service.ts';
import type { RenderRow } from './sql.ts';

/** The answer to an accepted submission, also recorded with its Idempotency-Key for replays. */
const accepted = (job: { id: string; status: 'pending' }) => ({ id: job.id, status: job.status });

/**
 * The interior flow's HTTP routes: generations (submit with photos or upload ids, status,
 * cancel), the caller's renders, and Replicate's webhook.
 */
export function interiorRoutes(services: Services, interior: Interior) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.route('/', interiorGenerationRoutes(services, interior));
  app.route('/', renderRoutes(interior));
  app.route('/', replicateWebhookRoutes(interior));
  return app;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The path of the upload route, which has its own body limit (app.ts skips the global one). */
export const GENERATIONS_PATH = '/api/v1/generations';
const MAX_IMAGES = 4;
const FORM_OVERHEAD_BYTES = 1024 * 1024;
/** The fields and the images with room to spare; far more is no form of ours, only work. */
const MAX_FORM_PARTS = 32;
const FORM_FIELDS: ReadonlySet<string> = new Set(Object.keys(interiorFieldsSchema.shape));

const VariantSchema = z.object({
  url: z.string(),
  thumbnail_url: z.string().nullable(),
  width: z.number().int(),
  height: z.number().int(),
});
const GenerationViewSchema = z
  .object({
    id: z.string().uuid(),
    status: z.enum(['pending', 'running', 'succeeded', 'failed', 'canceled', 'timed_out']),
    mode: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    render_id: z.string().uuid().nullable(),
    variants: z.array(VariantSchema),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('InteriorGeneration');

/**
 * Generations under `/api/v1/generations`: submit (multipart photos or JSON
 * with upload ids, 202), status with variant links (owner only, optional refresh from
 * Replicate), and cancel.
 */
function interiorGenerationRoutes(services: Services, interior: Interior) {
  const { db, config } = services;
  const deps = interior.deps;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const maxBody = config.interior.uploadMaxBytes * MAX_IMAGES + FORM_OVERHEAD_BYTES;
  app.use(GENERATIONS_PATH, bodyLimit({ maxBytes: maxBody }));
  app.use(GENERATIONS_PATH, idempotency({ db, scope: 'interior.create' }));

  app.post(GENERATIONS_PATH, async (c) => {
    const auth = c.get('auth');
    const request = await readSubmission(c, deps);
    const job = await submitGeneration(deps, {
      idempotency: { key: heldIdempotencyKey(), accepted },
      claims: auth.claims,
      fields: request.fields,
      images: request.images,
      uploadIds: request.uploadIds,
      requestId: c.get('requestId'),
      idempotencyKey: c.req.header('idempotency-key') ?? null,
      origin: new URL(c.req.url).origin,
      simulate: c.req.header('x-genloop-simulate'),
    });
    c.get('logger').info(
      { generation_id: job.id, user_id: auth.userId, mode: request.fields.mode },
      'interior generation accepted',
    );
    return c.json(accepted(job), 202);
  });
  app.openAPIRegistry.registerPath(submitDocs(maxBody));

  app.openapi(
    createRoute({
      method: 'get',
      path: `${GENERATIONS_PATH}/{id}`,
      tags: ['interior'],
      summary: 'An interior generation with its variant links (404 when it is not yours)',
      security,
      request: {
        params: z.object({ id: z.string() }),
        query: z.object({
          refresh: z
            .enum(['true', 'false', '1', '0'])
            .optional()
            .openapi({ description: 'Ask Replicate for the prediction now (a late webhook)' }),
        }),
      },
      responses: {
        200: {
          description: 'The generation',
          content: { 'application/json': { schema: GenerationViewSchema } },
        },
        404: { description: 'Not found', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'generation');
      const { refresh } = c.req.valid('query');
      const view = await getGeneration(deps, c.get('auth').claims, id, {
        refresh: refresh === 'true' || refresh === '1',
        baseUrl: new URL(c.req.url).origin,
      });
      if (!view) throw notFound('generation');
      return c.json(view as z.infer<typeof GenerationViewSchema>, 200);
    },
  );

  app.post(`${GENERATIONS_PATH}/:id/cancel`, async (c) => {
    const id = uuidOr404(c.req.param('id'), 'generation');
    const row = await cancelJob(db, { claims: c.get('auth').claims, id, recipe: 'interior' });
    return c.json(serialise(row), 200);
  });

  return app;
}

/** The request's fields and photos, from multipart/form-data or JSON; 4xx naming the field otherwise. */
async function readSubmission(
  c: Context,
  deps: InteriorDeps,
): Promise<{ fields: InteriorFields; images: NewImage[]; uploadIds: string[] }> {
  const type = c.req.header('content-type') ?? '';
  if (/^multipart\/form-data\s*(;|$)/i.test(type)) return readMultipart(c, deps);
  if (/^application\/(.+\+)?json\s*(;|$)/i.test(type)) return readJson(c);
  throw new HttpError(415, 'unsupported_media_type', 'send multipart/form-data or JSON', {
    errors: [
      {
        field: 'header.content-type',
        code: 'unsupported',
        message: 'expected multipart/form-data (with images) or application/json (with upload_ids)',
      },
    ],
  });
}

async function readMultipart(c: Context, deps: InteriorDeps) {
  let form: Record<string, string | File | (string | File)[]>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch (error) {
    throw new HttpError(400, 'invalid_multipart', 'the multipart body cannot be read', {
      cause: error,
      errors: [
        {
          field: 'body',
          code: 'invalid',
          message: 'a well-formed multipart/form-data body is required',
        },
      ],
    });
  }
  const parts = Object.values(form).reduce<number>(
    (count, value) => count + (Array.isArray(value) ? value.length : 1),
    0,
  );
  if (parts > MAX_FORM_PARTS) {
    throw validationFailed([
      {
        field: 'body',
        code: 'too_many_parts',
        message: `at most ${MAX_FORM_PARTS} parts: the fields, and up to ${MAX_IMAGES} images`,
      },
    ]);
  }
  const body = new Uint8Array(await c.req.arrayBuffer());
  const errors: FieldError[] = [];
  // Without a prototype, a field named __proto__ is a field like any other (and refused).
  const raw: Record<string, unknown> = Object.create(null);
  const files: { file: File; field: string }[] = [];
  for (const [key, value] of Object.entries(form)) {
    // A name that is none of ours is refused below whatever bytes it had; only names and values
    // that could be stored are checked, each search of the body at most once per known field.
    if (!isStorableText(key)) {
      errors.push(invalidText(`body.${toStorableText(key)}`));
    } else if (key === 'images') {
      const list = Array.isArray(value) ? value : [value];
      list.forEach((item, index) => {
        const field = `body.images.${index}`;
        if (typeof item === 'string') {
          errors.push({ field, code: 'not_a_file', message: 'send each image as a file part' });
        } else {
          files.push({ file: item, field });
        }
      });
    } else if (Array.isArray(value)) {
      errors.push({ field: `body.${key}`, code: 'duplicate', message: 'give this field once' });
    } else if (typeof value !== 'string') {
      errors.push({ field: `body.${key}`, code: 'not_text', message: 'only images may be files' });
    } else if (!isStorableText(value) || (FORM_FIELDS.has(key) && !wasUtf8In(value, body))) {
      errors.push(invalidText(`body.${key}`));
    } else {
      raw[key] = value;
    }
  }
  const parsed = interiorFieldsSchema.safeParse(raw);
  if (!parsed.success) errors.push(...fieldErrors(parsed.error, 'form'));
  if (files.length > MAX_IMAGES) {
    errors.push({
      field: 'body.images',
      code: 'too_many',
      message: `at most ${MAX_IMAGES} images`,
    });
  }
  if (errors.length > 0 || !parsed.success) throw validationFailed(errors);
  const limit = deps.config.interior.uploadMaxBytes;
  const oversized = files.filter(({ file }) => file.size > limit);
  if (oversized.length > 0) {
    throw new HttpError(413, 'payload_too_large', 'an image is too large', {
      detail: `each image may be at most ${limit} bytes`,
      errors: oversized.map(({ field, file }) => ({
        field,
        code: 'too_large',
        message: `${file.size} bytes; at most ${limit}`,
      })),
    });
  }
  const images = await Promise.all(
    files.map(async ({ file, field }) => ({
      bytes: new Uint8Array(await file.arrayBuffer()),
      field,
    })),
  );
  return { fields: parsed.data, images, uploadIds: [] };
}

async function readJson(c: Context) {
  const text = strictJsonText(await c.req.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON', {
      errors: [{ field: 'body', code: 'invalid_json', message: 'the body must be UTF-8 JSON' }],
    });
  }
  const parsed = interiorJsonSchema.safeParse(body);
  if (!parsed.success) throw validationFailed(fieldErrors(parsed.error, 'json'));
  const { upload_ids: uploadIds, ...fields } = parsed.data;
  return { fields, images: [], uploadIds };
}

function submitDocs(maxBody: number) {
  const fields = {
    mode: z.enum(['redesign', 'staging', 'compose', 'imagine']),
    prompt: z.string().max(1000).optional(),
    style: z.string().optional(),
    room_type: z.string().optional(),
    aspect_ratio: z.enum(['1:1', '4:3', '3:4', '3:2', '2:3', '16:9', '9:16']).optional(),
    quality: z.enum(['draft', 'standard', 'high']).optional(),
    variants: z.number().int().min(1).max(4).optional(),
  };
  return {
    method: 'post' as const,
    path: GENERATIONS_PATH,
    tags: ['interior'],
    summary: 'Start an interior render (202, then poll GET /api/v1/generations/{id})',
    description: `redesign and staging take 1 image, compose 2-4, imagine none (docs/interior.md). The whole body may be at most ${maxBody} bytes.`,
    security,
    request: {
      body: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: z.object({
              ...fields,
              images: z.array(z.string().openapi({ format: 'binary' })),
            }),
          },
          'application/json': {
            schema: z.object({ ...fields, upload_ids: z.array(z.string().uuid()).optional() }),
          },
        },
      },
    },
    responses: {
      202: {
        description: 'Accepted',
        content: {
          'application/json': {
            schema: z.object({ id: z.string().uuid(), status: z.literal('pending') }),
          },
        },
      },
      400: { description: 'Invalid fields, images or mode/input combination', content: problem },
      402: {
        description:
          "Monthly quota used up (`quota_exceeded`), or the caller's dollar budget cannot cover the render until its period resets (`budget_exceeded`, with Retry-After)",
        content: problem,
      },
      409: {
        description: 'Another generation in flight, or same Idempotency-Key running',
        content: problem,
      },
      413: { description: 'Body or an image too large', content: problem },
      415: { description: 'Neither multipart nor JSON', content: problem },
      503: { description: 'Image provider disabled', content: problem },
    },
  };
}

const RenderSchema = z
  .object({
    id: z.string().uuid(),
    generation_id: z.string().uuid(),
    mode: z.string(),
    style: z.string().nullable(),
    room_type: z.string().nullable(),
    prompt: z.string().nullable(),
    created_at: z.string(),
    variants: z.array(
      z.object({
        url: z.string(),
        thumbnail_url: z.string().nullable(),
        width: z.number().int(),
        height: z.number().int(),
      }),
    ),
  })
  .openapi('Render');
type RenderView = z.infer<typeof RenderSchema>;

/**
 * The caller's renders: list with filters and cursor pagination, one render with its variants,
 * and delete (the variant and thumbnail blobs go too, once the rows are gone).
 */
function renderRoutes(interior: Interior) {
  const { deps } = interior;
  const { store, config } = deps;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const view = (row: RenderRow, origin: string) =>
    toView(row, store, (config.publicBaseUrl ?? origin).replace(/\/+$/, ''));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/renders',
      tags: ['interior'],
      summary: "The caller's renders, newest first (filters, cursor pagination)",
      security,
      request: {
        query: z.object({
          mode: z.enum(MODES).optional(),
          style: z.enum(STYLE_NAMES as [string, ...string[]]).optional(),
          room_type: z.enum(ROOM_TYPE_NAMES as [string, ...string[]]).optional(),
          generation_id: z.string().uuid().optional(),
          cursor: z
            .string()
            .optional()
            .openapi({ description: 'next_cursor of the previous page' }),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
      },
      responses: {
        200: {
          description: 'A page',
          content: {
            'application/json': {
              schema: z.object({ data: z.array(RenderSchema), next_cursor: z.string().nullable() }),
            },
          },
        },
        400: { description: 'Bad filter, cursor or limit', content: problem },
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const { rows: page, more } = await listRenderPage(deps, c.get('auth').claims, {
        mode: query.mode,
        style: query.style,
        roomType: query.room_type,
        generationId: query.generation_id,
        after,
        limit: query.limit,
      });
      const last = page.at(-1);
      const origin = new URL(c.req.url).origin;
      return c.json(
        {
          data: page.map((row) => view(row, origin)),
          next_cursor: more && last ? encodeCursor(last.cursor_ts, last.id) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/renders/{id}',
      tags: ['interior'],
      summary: 'One render with its variants (404 when it is not yours)',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: {
          description: 'The render',
          content: { 'application/json': { schema: RenderSchema } },
        },
        404: { description: 'Not found', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'render');
      const row = await renderOf(deps, c.get('auth').claims, id);
      return c.json(view(row, new URL(c.req.url).origin), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/renders/{id}',
      tags: ['interior'],
      summary: 'Delete a render, its variants and their images',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        204: { description: 'Deleted' },
        404: { description: 'Not found', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'render');
      await deleteRenderOf(deps, c.get('auth').claims, id);
      return c.body(null, 204);
    },
  );

  return app;
}

function toView(row: RenderRow, store: BlobStore, baseUrl: string): RenderView {
  return {
    id: row.id,
    generation_id: row.generation_id,
    mode: row.mode,
    style: row.style,
    room_type: row.room_type,
    prompt: row.prompt,
    created_at:
      row.created_at instanceof Date ? row.created_at.toISOString() : String(row.created_at),
    variants: row.variants.map((variant) => ({
      url: store.publicUrl(variant.path, { baseUrl }),
      thumbnail_url: variant.thumbnail_path
        ? store.publicUrl(variant.thumbnail_path, { baseUrl })
        : null,
      width: variant.width,
      height: variant.height,
    })),
  };
}

/**
 * `POST /api/v1/webhooks/replicate`, outside bearer auth: Replicate authenticates by its
 * Standard Webhooks signature, verified here over the raw bytes before anything is parsed or
 * written. A bad signature, a stale or future timestamp or a missing header is 400/401 and
 * writes nothing; a body that is not a prediction is 400. A verified delivery is deduplicated by
 * `webhook-id` and applied ({@link applyPrediction}): answered 200 with what became of it, so
 * Replicate stops retrying — except 404 for a prediction no job has (yet) and 503 when the
 * database is unavailable, so that Replicate retries.
 */
function replicateWebhookRoutes(interior: Interior) {
  const { deps } = interior;
  const app = new OpenAPIHono();

  app.post(WEBHOOK_PATH, async (c) => {
    const secret = await deps.webhookSecret();
    if (!secret) {
      throw new HttpError(503, 'webhook_secret_unavailable', 'webhooks cannot be verified yet', {
        detail: 'set REPLICATE_WEBHOOK_SECRET (GET /v1/webhooks/default/secret on Replicate)',
        headers: { 'retry-after': '30' },
      });
    }
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const verified = verifyStandardWebhook(
      secret,
      {
        id: c.req.header('webhook-id'),
        timestamp: c.req.header('webhook-timestamp'),
        signature: c.req.header('webhook-signature'),
      },
      raw,
    );
    if (!verified.ok) {
      const badRequest = verified.reason === 'missing' || verified.reason === 'malformed';
      throw new HttpError(
        badRequest ? 400 : 401,
        badRequest ? 'webhook_headers_invalid' : 'webhook_signature_invalid',
        badRequest ? 'webhook headers missing or malformed' : 'webhook not verified',
        { detail: verified.message },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(utf8.decode(raw));
    } catch {
      throw new HttpError(400, 'invalid_json', 'the webhook body is not JSON', {
        errors: [{ field: 'body', code: 'invalid_json', message: 'expected a prediction as JSON' }],
      });
    }
    const parsed = predictionSchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpError(400, 'validation_failed', 'the webhook body is not a prediction', {
        errors: fieldErrors(parsed.error, 'json'),
      });
    }
    const log = c.get('logger').child({ webhook_id: verified.id, prediction_id: parsed.data.id });
    try {
      if (await webhookEventSeen(deps.db, verified.id)) {
        log.info('webhook already applied');
        return c.json({ status: 'duplicate' as const }, 200);
      }
      const result = await applyPrediction(deps, parsed.data, { webhookId: verified.id });
      log.info({ result, prediction_status: parsed.data.status }, 'replicate webhook');
      if (result === 'unknown_prediction') {
        // Most likely a prediction whose id is not committed yet (the webhook beat the worker):
        // a non-2xx answer makes Replicate deliver the final webhook again shortly.
        return new HttpError(404, 'unknown_prediction', 'no generation has this prediction (yet)', {
          detail: 'nothing was written; a retried delivery is applied once the prediction is known',
        }).getResponse(c.get('requestId'));
      }
      return c.json({ status: result }, 200);
    } catch (error) {
      log.error({ err: error }, 'applying the webhook failed; Replicate will retry');
      throw new HttpError(503, 'webhook_retry_later', 'the webhook could not be applied now', {
        headers: { 'retry-after': '5' },
        cause: error,
      });
    }
  });

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: WEBHOOK_PATH,
    tags: ['interior'],
    summary: 'Replicate prediction webhooks (Standard Webhooks signature, no bearer token)',
    request: {
      headers: z.object({
        'webhook-id': z.string(),
        'webhook-timestamp': z.string(),
        'webhook-signature': z.string(),
      }),
    },
    responses: {
      200: {
        description: 'Verified; what became of it',
        content: { 'application/json': { schema: z.object({ status: z.string() }) } },
      },
      400: { description: 'Missing headers or not a prediction', content: problem },
      404: {
        description: 'No generation has this prediction (yet); nothing written, Replicate retries',
        content: problem,
      },
      401: { description: 'Bad signature or timestamp out of tolerance', content: problem },
      503: { description: 'Cannot verify or apply now; retry', content: problem },
    },
  });
  return app;
}
