import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { isStorableText, toStorableText, wasUtf8In } from '../../lib/storable-text.ts';
import type { InteriorDeps } from '../../recipes/interior/deps.ts';
import type { Interior } from '../../recipes/interior/index.ts';
import {
  type InteriorFields,
  interiorFieldsSchema,
  interiorJsonSchema,
} from '../../recipes/interior/schema.ts';
import { getGeneration, type NewImage, submitGeneration } from '../../recipes/interior/service.ts';
import type { Services } from '../../services.ts';
import { type FieldError, HttpError } from '../http-error.ts';
import { bodyLimit } from '../middleware/body-limit/index.ts';
import { idempotency } from '../middleware/idempotency/index.ts';
import { strictJsonText } from '../middleware/strict-json/index.ts';
import { ProblemSchema } from '../problem-schema.ts';
import { fieldErrors, invalidText, validationFailed, validationHook } from '../validation.ts';
import { cancelGeneration, notFound, submitRefusalToHttp, uuidOr404 } from './flashcards.ts';

/** The path of the upload route, which has its own body limit (app.ts skips the global one). */
export const GENERATIONS_PATH = '/api/v1/generations';
const MAX_IMAGES = 4;
const FORM_OVERHEAD_BYTES = 1024 * 1024;
/** The fields and the images with room to spare; far more is no form of ours, only work. */
const MAX_FORM_PARTS = 32;
const FORM_FIELDS: ReadonlySet<string> = new Set(Object.keys(interiorFieldsSchema.shape));

const problem = { 'application/problem+json': { schema: ProblemSchema } };
const security = [{ bearerAuth: [] }];

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
 * The interior flow of seed 003 under `/api/v1/generations`: submit (multipart photos or JSON
 * with upload ids, 202), status with variant links (owner only, optional refresh from
 * Replicate), and cancel.
 */
export function interiorGenerationRoutes(services: Services, interior: Interior) {
  const { db, config } = services;
  const deps = interior.deps;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const maxBody = config.interior.uploadMaxBytes * MAX_IMAGES + FORM_OVERHEAD_BYTES;
  app.use(GENERATIONS_PATH, bodyLimit({ maxBytes: maxBody }));
  app.use(GENERATIONS_PATH, idempotency({ db, scope: 'interior.create' }));

  app.post(GENERATIONS_PATH, async (c) => {
    const auth = c.get('auth');
    const request = await readSubmission(c, deps);
    try {
      const job = await submitGeneration(deps, {
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
      return c.json({ id: job.id, status: job.status }, 202);
    } catch (error) {
      throw submitRefusalToHttp(error);
    }
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

  app.post(`${GENERATIONS_PATH}/:id/cancel`, (c) => cancelGeneration(c, services, 'interior'));

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
      402: { description: 'Monthly quota used up', content: problem },
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
