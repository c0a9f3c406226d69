import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { decodeCursor, encodeCursor } from '../../http/cursor.ts';
import { heldIdempotencyKey, idempotency } from '../../http/middleware/idempotency/index.ts';
import { strictJson } from '../../http/middleware/strict-json/index.ts';
import {
  problemContent as problem,
  bearerSecurity as security,
} from '../../http/problem-schema.ts';
import { serialise, uuidOr404 } from '../../http/route-helpers.ts';
import { validationHook } from '../../http/validation.ts';
import { cancelJob } from '../../jobs/cancel.ts';
import type { Services } from '../../services.ts';
import {
  AcceptedSchema,
  CardSchema,
  createAIGenerationCommandSchema,
  GenerationSchema,
  SuggestionSchema,
} from './schema.ts';
import {
  acceptSuggestion,
  editSuggestion,
  getGeneration,
  listGenerations,
  listSuggestions,
  rejectSuggestion,
  submitFlashcards,
} from './service.ts';

/** The answer to an accepted submission, also recorded with its Idempotency-Key for replays. */
const accepted = (job: { id: string; status: 'pending' }) => ({
  generation_id: job.id,
  status: job.status,
});

/** The flashcard flow's HTTP routes under `/api/ai`. */
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
        402: {
          description:
            "Monthly quota used up (`quota_exceeded`), or the caller's dollar budget cannot cover the job until its period resets (`budget_exceeded`, with Retry-After)",
          content: problem,
        },
        409: { description: 'Same Idempotency-Key still in progress', content: problem },
        413: { description: 'Body too large', content: problem },
        415: { description: 'Not JSON', content: problem },
        422: { description: 'Idempotency-Key reused with another body', content: problem },
        429: { description: 'Rate limit exceeded (Retry-After)', content: problem },
      },
    }),
    async (c) => {
      const auth = c.get('auth');
      const job = await submitFlashcards(db, {
        claims: auth.claims,
        command: c.req.valid('json'),
        requestId: c.get('requestId'),
        idempotencyKey: c.req.header('idempotency-key'),
        idempotency: { key: heldIdempotencyKey(), accepted },
        simulate: c.req.header('x-genloop-simulate'),
        limits: { rate: config.limits.flashcardsRate, monthlyQuota: config.limits.monthlyQuota },
        budgets: { gate: services.budgets, router: services.router },
      });
      c.get('logger').info(
        { generation_id: job.id, user_id: auth.userId },
        'flashcard generation accepted',
      );
      return c.json(accepted(job), 202);
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
      const { rows, more } = await listGenerations(db, c.get('auth').claims, { after, limit });
      const last = rows.at(-1);
      return c.json(
        {
          data: rows.map(({ cursor_ts: _cursor, ...row }) => serialise(row)) as z.infer<
            typeof GenerationSchema
          >[],
          next_cursor: more && last ? encodeCursor(last.cursor_ts, last.id) : null,
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
      const row = await getGeneration(db, c.get('auth').claims, id);
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
    async (c) => {
      const id = uuidOr404(c.req.valid('param').id, 'generation');
      const row = await cancelJob(db, { claims: c.get('auth').claims, id, recipe: 'flashcards' });
      return c.json(serialise(row) as z.infer<typeof GenerationSchema>, 200);
    },
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
      const result = await listSuggestions(db, c.get('auth').claims, generationId, query.status);
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
      const row = await editSuggestion(db, c.get('auth').claims, id, body);
      return c.json(serialise(row) as z.infer<typeof SuggestionSchema>, 200);
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
      const { card, created } = await acceptSuggestion(db, c.get('auth').claims, id);
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
      const row = await rejectSuggestion(db, c.get('auth').claims, id);
      return c.json(serialise(row) as z.infer<typeof SuggestionSchema>, 200);
    },
  );

  return app;
}
