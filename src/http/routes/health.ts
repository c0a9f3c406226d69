import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Db } from '../../db/types.ts';
import { validationHook } from '../validation.ts';

const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    database: z.object({
      driver: z.enum(['pg', 'pglite']),
      ok: z.boolean(),
      latency_ms: z.number(),
    }),
  })
  .openapi('Readiness');

const READY_TIMEOUT_MS = 2_000;

/** `/healthz` says the process is up; `/readyz` says it can serve (the database answers). */
export function healthRoutes(db: Db) {
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['ops'],
      summary: 'Liveness',
      responses: {
        200: {
          description: 'The process is up',
          content: { 'application/json': { schema: HealthSchema } },
        },
      },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['ops'],
      summary: 'Readiness: the database answers',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: ReadySchema } } },
      },
    }),
    async (c) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const ok = await Promise.race([
        db.query('select 1').then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      const body = {
        status: ok ? ('ready' as const) : ('unavailable' as const),
        database: { driver: db.driver, ok, latency_ms: Math.round(performance.now() - started) },
      };
      return ok ? c.json(body, 200) : c.json(body, 503);
    },
  );

  return app;
}
