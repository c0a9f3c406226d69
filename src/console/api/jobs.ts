import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { decodeCursor, encodeCursor } from '../../http/cursor.ts';
import { serialise } from '../../http/route-helpers.ts';
import { validationHook } from '../../http/validation.ts';
import {
  ADMIN_PREFIX,
  type Job,
  JobIdParamsSchema,
  JobSchema,
  JobsQuerySchema,
  JobsSchema,
} from '../contract.ts';
import { cancelJob, retryJob } from './actions.ts';
import { windowStart } from './overview.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, pageOf, problem, rowsAs } from './shared.ts';
import { selectFailedJobs, selectJobCounts, selectOldestWaiting, selectQueueDepth } from './sql.ts';

/** `/api/v1/admin/jobs`: the queue at a glance, failed jobs, and retry or cancel of one job. */
export function jobRoutes({ db }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/jobs`,
      tags: ['admin'],
      summary: 'Job counts by recipe and status, the oldest waiting job, failed jobs (paged)',
      security: adminSecurity,
      request: { query: JobsQuerySchema },
      responses: {
        200: { description: 'The jobs', content: { 'application/json': { schema: JobsSchema } } },
        400: problem('A filter, the cursor or the limit is not valid'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { window, recipe, cursor, limit } = c.req.valid('query');
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const [counts, queue, oldest, failed] = await Promise.all([
        selectJobCounts(db, windowStart(window, Date.now())),
        selectQueueDepth(db),
        selectOldestWaiting(db),
        selectFailedJobs(db, {
          recipe,
          after: after && { at: after.createdAt, id: after.id },
          limit: limit + 1,
        }),
      ]);
      const page = pageOf(failed, limit);
      return c.json(
        {
          window,
          counts: counts as { recipe: Job['recipe']; status: Job['status']; count: number }[],
          ...queue,
          oldest_waiting: oldest ? (serialise(oldest) as Job) : null,
          failed: {
            data: rowsAs<Job>(page.rows.map(({ cursor_ts: _cursor, ...row }) => row)),
            next_cursor: page.last ? encodeCursor(page.last.cursor_ts, page.last.id) : null,
          },
        },
        200,
      );
    },
  );

  for (const action of ['retry', 'cancel'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `${ADMIN_PREFIX}/jobs/{id}/${action}`,
        tags: ['admin'],
        summary:
          action === 'retry'
            ? 'Queue a failed, timed-out or canceled job again (its quota unit is taken again, once)'
            : 'Cancel a pending or running job (its quota unit is refunded, once)',
        security: adminSecurity,
        request: { params: JobIdParamsSchema },
        responses: {
          200: {
            description: action === 'retry' ? 'Pending again' : 'Canceled',
            content: { 'application/json': { schema: JobSchema } },
          },
          400: problem('The id is not a uuid'),
          404: problem('No such job'),
          409: problem(
            action === 'retry'
              ? 'The job is not failed, timed out or canceled (not_retryable)'
              : 'The job already ended (not_cancelable)',
          ),
          ...ADMIN_ERRORS,
        },
      }),
      async (c) => {
        const id = c.req.valid('param').id.toLowerCase();
        const job = await (action === 'retry' ? retryJob : cancelJob)(db, id);
        c.get('logger').info({ generation_id: id, action }, `admin ${action} of a job`);
        return c.json(serialise(job) as Job, 200);
      },
    );
  }

  return app;
}
