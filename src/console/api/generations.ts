import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { decodeCursor, encodeCursor } from '../../http/cursor.ts';
import { serialise } from '../../http/route-helpers.ts';
import { validationFailed, validationHook } from '../../http/validation.ts';
import { notFound } from '../../lib/domain-errors.ts';
import {
  ADMIN_PREFIX,
  type Attempt,
  type Generation,
  type GenerationDetail,
  GenerationDetailSchema,
  GenerationPageSchema,
  GenerationParamsSchema,
  GenerationsQuerySchema,
  type Job,
} from '../contract.ts';
import { searchGenerations, TIME_CURSOR_ID } from './generation-search.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, pageOf, problem, rowsAs } from './shared.ts';
import { type AttemptRow, selectAttempts, selectGeneration, selectJob } from './sql.ts';

/** `GET /api/v1/admin/generations[/{request_id}]`: telemetry rows and their provider attempts. */
export function generationRoutes({ db, config }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/generations`,
      tags: ['admin'],
      summary: 'Generations (telemetry rows), newest first, filtered, cursor-paged',
      security: adminSecurity,
      request: { query: GenerationsQuerySchema },
      responses: {
        200: {
          description: 'A page',
          content: { 'application/json': { schema: GenerationPageSchema } },
        },
        400: problem('A filter, the cursor or the limit is not valid'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { cursor, limit, ...filters } = c.req.valid('query');
      if (filters.from && filters.to && Date.parse(filters.to) < Date.parse(filters.from)) {
        throw validationFailed([
          { field: 'query.to', code: 'invalid_range', message: 'must not be before from' },
        ]);
      }
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const search = await searchGenerations(db, {
        filters,
        after: after && { at: after.createdAt, id: after.id },
        limit: limit + 1,
        budgetRows: config.consoleSearchRows,
      });
      const { rows, last } = pageOf(search.rows, limit);
      // A search that stopped short hands out where it stopped, so the next page carries on
      // from there: rows before that instant, whatever their id.
      const stoppedAt = search.stoppedAt?.toISOString().replace('Z', '000Z');
      const nextCursor = last
        ? encodeCursor(last.cursor_ts, last.id)
        : stoppedAt && encodeCursor(stoppedAt, TIME_CURSOR_ID);
      return c.json(
        {
          data: rowsAs<Generation>(rows.map(({ cursor_ts: _cursor, ...row }) => row)),
          next_cursor: nextCursor ?? null,
          searched_back_to: rows.length < limit ? (search.stoppedAt?.toISOString() ?? null) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/generations/{request_id}`,
      tags: ['admin'],
      summary: 'One generation: its telemetry row, its attempts in order, and its job',
      security: adminSecurity,
      request: { params: GenerationParamsSchema },
      responses: {
        200: {
          description: 'The generation',
          content: { 'application/json': { schema: GenerationDetailSchema } },
        },
        400: problem('The id is not a uuid'),
        404: problem('No telemetry row has this request id or id'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const id = c.req.valid('param').request_id.toLowerCase();
      const row = await selectGeneration(db, id);
      if (!row) throw notFound('generation');
      const { rows_with_request_id, ...generation } = row;
      const [attempts, job] = await Promise.all([
        selectAttempts(db, row.id, row.request_id),
        typeof row.generation_id === 'string' ? selectJob(db, row.generation_id) : undefined,
      ]);
      const body: GenerationDetail = {
        generation: serialise(generation) as GenerationDetail['generation'],
        attempts: timeline(attempts),
        job: job ? (serialise(job) as Job) : null,
        rows_with_request_id,
      };
      return c.json(body, 200);
    },
  );

  return app;
}

/**
 * Attempts as a timeline: each with its start, and the wait since the previous attempt ended
 * (the router's backoff, or a provider's Retry-After).
 */
export function timeline(rows: readonly AttemptRow[]): Attempt[] {
  return rows.map((row, index) => {
    const previous = rows[index - 1];
    const backoff = previous
      ? row.created_at.getTime() - (previous.created_at.getTime() + (previous.latency_ms ?? 0))
      : null;
    const { created_at, ...attempt } = row;
    return {
      ...attempt,
      started_at: created_at.toISOString(),
      // Starts are taken in milliseconds and latencies rounded: a few ms below zero is noise.
      backoff_ms: backoff === null ? null : Math.max(0, Math.round(backoff)),
    };
  });
}
