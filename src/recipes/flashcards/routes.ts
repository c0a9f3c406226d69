import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { asUser } from '../../db/context.ts';
import { SubmitRefused, submitJob } from '../../jobs/submit.ts';
import { createAIGenerationCommandSchema } from '../../recipes/flashcards/command.ts';
import type { Services } from '../../services.ts';
import { finalizeGeneration } from '../../sql/usage.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { HttpError } from '../http-error.ts';
import { idempotency } from '../middleware/idempotency/index.ts';
import { strictJson } from '../middleware/strict-json/index.ts';
import { ProblemSchema } from '../problem-schema.ts';
import { validationHook } from '../validation.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const problem = { 'application/problem+json': { schema: ProblemSchema } };
const security = [{ bearerAuth: [] }];

const GenerationStatus = z.enum([
  'pending',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'timed_out',
]);
const AcceptedSchema = z
  .object({ generation_id: z.string().uuid(), status: z.literal('pending') })
  .openapi('CreateAIGenerationAccepted');
const GenerationSchema = z
  .object({
    id: z.string().uuid(),
    status: GenerationStatus,
    model: z.string().nullable(),
    prompt_version: z.string().nullable(),
    tokens_input: z.number().int().nullable(),
    tokens_output: z.number().int().nullable(),
    cost_usd: z.number().nullable(),
    error: z.unknown().nullable(),
    ai_metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('AIGeneration');
const SuggestionSchema = z
  .object({
    id: z.string().uuid(),
    generation_id: z.string().uuid(),
    position: z.number().int(),
    front: z.string(),
    back: z.string(),
    status: z.enum(['proposed', 'accepted', 'rejected']),
    edited: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('AISuggestion');
const CardSchema = z
  .object({
    id: z.string().uuid(),
    front: z.string(),
    back: z.string(),
    source: z.string(),
    suggestion_id: z.string().uuid().nullable(),
    generation_id: z.string().uuid().nullable(),
    created_at: z.string(),
  })
  .openapi('Card');

const GENERATION_COLUMNS = `id, status, model, prompt_version, tokens_input, tokens_output, cost_usd, error, ai_metadata,
  created_at, updated_at, finished_at`;
const SUGGESTION_COLUMNS =
  'id, generation_id, position, front, back, status, edited, created_at, updated_at';
const CARD_COLUMNS = 'id, front, back, source, suggestion_id, generation_id, created_at';

/** The flashcard flow of seed 004 under `/api/ai`. */
export function flashcardRoutes(services: Services) {
  const { db, config } = services;
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.use('/api/ai/*', strictJson());
  app.on(['POST'], '/api/ai/generations', strictJson({ requireBody: true }));
  app.on(['PATCH'], '/api/ai/suggestions/:id', strictJson({ requireBody: true }));
  app.use('/api/ai/generations', idempotency({ db, scope: 'flashcards.create' }));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/ai/generations',
      tags: ['flashcards'],
      summary: 'Start a flashcard generation from source_text (202, then poll)',
      security,
      request: {
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: {
          required: true,
          content: { 'application/json': { schema: createAIGenerationCommandSchema } },
        },
      },
      responses: {
        202: {
          description: 'Accepted',
          content: { 'application/json': { schema: AcceptedSchema } },
        },
        400: { description: 'Invalid input', content: problem },
        401: { description: 'Missing or invalid token', content: problem },
        402: { description: 'Monthly quota used up', content: problem },
        409: { description: 'Same Idempotency-Key still in progress', content: problem },
        413: { description: 'Body too large', content: problem },
        415: { description: 'Not JSON', content: problem },
        422: { description: 'Idempotency-Key reused with another body', content: problem },
        429: { description: 'Rate limit exceeded (Retry-After)', content: problem },
      },
    }),
    async (c) => {
      const command = c.req.valid('json');
      const auth = c.get('auth');
      const simulate = c.req.header('x-genloop-simulate');
      try {
        const job = await submitJob(db, {
          claims: auth.claims,
          recipe: 'flashcards',
          row: {
            id: randomUUID(),
            source_text: command.source_text,
            model: command.model ?? null,
            prompt_version: command.prompt_version ?? null,
            input: simulate ? { simulate } : {},
            request_id: c.get('requestId'),
            idempotency_key: c.req.header('idempotency-key') ?? null,
          },
          rateLimit: config.limits.flashcardsRate,
          monthlyQuota: config.limits.monthlyQuota,
        });
        c.get('logger').info(
          { generation_id: job.id, user_id: auth.userId },
          'flashcard generation accepted',
        );
        return c.json({ generation_id: job.id, status: 'pending' as const }, 202);
      } catch (error) {
        throw submitRefusalToHttp(error);
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/ai/generations',
      tags: ['flashcards'],
      summary: "The caller's generations, newest first (cursor pagination)",
      security,
      request: {
        query: z.object({
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
              schema: z.object({
                data: z.array(GenerationSchema),
                next_cursor: z.string().nullable(),
              }),
            },
          },
        },
        400: { description: 'Bad cursor or limit', content: problem },
      },
    }),
    async (c) => {
      const { cursor, limit } = c.req.valid('query');
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const rows = await asUser(db, c.get('auth').claims, async (tx) => {
        const { rows } = await tx.query<
          Record<string, unknown> & { cursor_ts: string; id: string }
        >(
          `select ${GENERATION_COLUMNS},
                  to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
             from public.ai_generations
            where recipe = 'flashcards'
              and ($1::timestamptz is null or (created_at, id) < ($1::timestamptz, $2::uuid))
            order by created_at desc, id desc
            limit $3`,
          [after?.createdAt ?? null, after?.id ?? null, limit + 1],
        );
        return rows;
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return c.json(
        {
          data: page.map(({ cursor_ts: _cursor, ...row }) => serialise(row)) as z.infer<
            typeof GenerationSchema
          >[],
          next_cursor: rows.length > limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/ai/generations/{id}',
      tags: ['flashcards'],
      summary: 'One generation (404 when it is not yours)',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: {
          description: 'The generation',
          content: { 'application/json': { schema: GenerationSchema } },
        },
        404: { description: 'Not found', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'generation');
      const row = await asUser(db, c.get('auth').claims, async (tx) => {
        const { rows } = await tx.query(
          `select ${GENERATION_COLUMNS} from public.ai_generations where id = $1 and recipe = 'flashcards'`,
          [id],
        );
        return rows[0];
      });
      if (!row) throw notFound('generation');
      return c.json(serialise(row) as z.infer<typeof GenerationSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/ai/generations/{id}/cancel',
      tags: ['flashcards'],
      summary: 'Cancel a pending or running generation (its quota unit is refunded)',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: {
          description: 'Canceled',
          content: { 'application/json': { schema: GenerationSchema } },
        },
        404: { description: 'Not found', content: problem },
        409: { description: 'Already finished', content: problem },
      },
    }),
    // biome-ignore lint/suspicious/noExplicitAny: the shared cancel handler answers the documented AIGeneration.
    (async (c: Context) => cancelGeneration(c, services, 'flashcards')) as any,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/ai/suggestions',
      tags: ['flashcards'],
      summary: "Suggestions of one of the caller's generations",
      security,
      request: {
        query: z.object({
          generation_id: z.string(),
          status: z.enum(['proposed', 'accepted', 'rejected']).optional(),
        }),
      },
      responses: {
        200: {
          description: 'The suggestions, in order',
          content: {
            'application/json': { schema: z.object({ data: z.array(SuggestionSchema) }) },
          },
        },
        404: { description: 'Generation not found', content: problem },
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const generationId = uuidOr404(query.generation_id, 'generation');
      const result = await asUser(db, c.get('auth').claims, async (tx) => {
        const owned = await tx.query('select 1 from public.ai_generations where id = $1', [
          generationId,
        ]);
        if (owned.rowCount === 0) return undefined;
        const { rows } = await tx.query(
          `select ${SUGGESTION_COLUMNS} from public.ai_suggestions
            where generation_id = $1 and ($2::text is null or status = $2)
            order by position`,
          [generationId, query.status ?? null],
        );
        return rows;
      });
      if (!result) throw notFound('generation');
      return c.json({ data: result.map(serialise) as z.infer<typeof SuggestionSchema>[] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/ai/suggestions/{id}',
      tags: ['flashcards'],
      summary: 'Edit a proposed suggestion before accepting it',
      security,
      request: {
        params: z.object({ id: z.string() }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z
                .object({
                  front: z.string().trim().min(1).max(2_000).optional(),
                  back: z.string().trim().min(1).max(5_000).optional(),
                })
                .strict()
                .refine(
                  (body) => body.front !== undefined || body.back !== undefined,
                  'give front or back',
                ),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'Edited',
          content: { 'application/json': { schema: SuggestionSchema } },
        },
        404: { description: 'Not found', content: problem },
        409: { description: 'Already accepted or rejected', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'suggestion');
      const body = c.req.valid('json');
      const row = await asUser(db, c.get('auth').claims, async (tx) => {
        const { rows } = await tx.query(
          `update public.ai_suggestions
              set front = coalesce($2, front), back = coalesce($3, back), edited = true
            where id = $1 and status = 'proposed'
            returning ${SUGGESTION_COLUMNS}`,
          [id, body.front ?? null, body.back ?? null],
        );
        if (rows[0]) return rows[0];
        await suggestionConflictOr404(tx, id);
      });
      return c.json(serialise(row!) as z.infer<typeof SuggestionSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/ai/suggestions/{id}/accept',
      tags: ['flashcards'],
      summary: 'Accept a suggestion: creates its card once (repeating returns the same card)',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        201: {
          description: 'Card created',
          content: { 'application/json': { schema: CardSchema } },
        },
        200: {
          description: 'Already accepted: the existing card',
          content: { 'application/json': { schema: CardSchema } },
        },
        404: { description: 'Not found', content: problem },
        409: { description: 'The suggestion was rejected', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'suggestion');
      const { card, created } = await asUser(db, c.get('auth').claims, async (tx) => {
        const { rows } = await tx.query<{
          id: string;
          front: string;
          back: string;
          edited: boolean;
          generation_id: string;
          status: string;
        }>(
          `select id, front, back, edited, generation_id, status from public.ai_suggestions where id = $1 for update`,
          [id],
        );
        const suggestion = rows[0];
        if (!suggestion) throw notFound('suggestion');
        if (suggestion.status === 'rejected') {
          throw new HttpError(
            409,
            'suggestion_rejected',
            'the suggestion was rejected and cannot be accepted',
          );
        }
        if (suggestion.status === 'proposed') {
          await tx.query(`update public.ai_suggestions set status = 'accepted' where id = $1`, [
            id,
          ]);
        }
        const inserted = await tx.query(
          `insert into public.cards (user_id, front, back, source, suggestion_id, generation_id)
           values ((select auth.uid()), $2, $3, $4, $1, $5)
           on conflict (suggestion_id) do nothing
           returning ${CARD_COLUMNS}`,
          [
            id,
            suggestion.front,
            suggestion.back,
            suggestion.edited ? 'ai_edited' : 'ai',
            suggestion.generation_id,
          ],
        );
        if (inserted.rows[0]) return { card: inserted.rows[0], created: true };
        const existing = await tx.query(
          `select ${CARD_COLUMNS} from public.cards where suggestion_id = $1`,
          [id],
        );
        return { card: existing.rows[0]!, created: false };
      });
      return c.json(serialise(card) as z.infer<typeof CardSchema>, created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/ai/suggestions/{id}/reject',
      tags: ['flashcards'],
      summary: 'Reject a proposed suggestion',
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: {
          description: 'Rejected',
          content: { 'application/json': { schema: SuggestionSchema } },
        },
        404: { description: 'Not found', content: problem },
        409: { description: 'Already accepted', content: problem },
      },
    }),
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'suggestion');
      const row = await asUser(db, c.get('auth').claims, async (tx) => {
        const { rows } = await tx.query(
          `update public.ai_suggestions set status = 'rejected'
            where id = $1 and status in ('proposed', 'rejected')
            returning ${SUGGESTION_COLUMNS}`,
          [id],
        );
        if (rows[0]) return rows[0];
        await suggestionConflictOr404(tx, id);
      });
      return c.json(serialise(row!) as z.infer<typeof SuggestionSchema>, 200);
    },
  );

  return app;
}

/** Cancels a user's pending or running job and refunds its quota unit, in one transaction. */
export async function cancelGeneration(c: Context, services: Services, recipe: string) {
  const id = uuidOr404(c.req.param('id') ?? '', 'generation');
  const auth = c.get('auth');
  const row = await asUser(services.db, auth.claims, async (tx) => {
    const { rows } = await tx.query(
      `update public.ai_generations set status = 'canceled', finished_at = now()
        where id = $1 and recipe = $2 and status in ('pending', 'running')
        returning ${GENERATION_COLUMNS}`,
      [id, recipe],
    );
    if (!rows[0]) {
      const existing = await tx.query<{ status: string }>(
        'select status from public.ai_generations where id = $1 and recipe = $2',
        [id, recipe],
      );
      if (!existing.rows[0]) throw notFound('generation');
      throw new HttpError(
        409,
        'not_cancelable',
        `the generation already ended (${existing.rows[0].status})`,
      );
    }
    await tx.query('reset role');
    await finalizeGeneration(tx, {
      userId: auth.userId,
      generationId: id,
      outcome: 'refund',
      reason: 'canceled',
    });
    return rows[0];
  });
  return c.json(serialise(row), 200);
}

/** Maps a refused submission to its HTTP answer. */
export function submitRefusalToHttp(error: unknown): unknown {
  if (!(error instanceof SubmitRefused)) return error;
  switch (error.code) {
    case 'rate_limited': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new HttpError(429, 'rate_limited', 'too many requests', {
        detail: `${error.message}; retry after ${seconds} s`,
        headers: { 'retry-after': String(seconds) },
      });
    }
    case 'quota_exceeded':
      return new HttpError(402, 'quota_exceeded', 'generation quota exceeded', {
        detail: error.message,
      });
    case 'job_in_flight':
      return new HttpError(409, 'job_in_flight', 'a generation is already in progress', {
        detail: error.message,
      });
  }
}

async function suggestionConflictOr404(
  tx: {
    query: (
      text: string,
      params?: readonly unknown[],
    ) => Promise<{ rows: Record<string, unknown>[] }>;
  },
  id: string,
): Promise<never> {
  const { rows } = await tx.query('select status from public.ai_suggestions where id = $1', [id]);
  if (!rows[0]) throw notFound('suggestion');
  throw new HttpError(
    409,
    'suggestion_not_proposed',
    `the suggestion is already ${String(rows[0].status)}`,
  );
}

export function uuidOr404(value: string, what: string): string {
  if (!UUID.test(value)) throw notFound(what);
  return value.toLowerCase();
}

export function notFound(what: string): HttpError {
  return new HttpError(404, 'not_found', `${what} not found`);
}

/** Dates as ISO strings, numbers as numbers: the JSON the API documents. */
function serialise<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row))
    out[key] = value instanceof Date ? value.toISOString() : value;
  return out as T;
}
