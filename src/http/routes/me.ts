import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { asUser } from '../../db/context.ts';
import type { Db } from '../../db/types.ts';
import { validationHook } from '../validation.ts';

const MeSchema = z
  .object({
    user_id: z.string().uuid(),
    role: z.enum(['authenticated', 'service_role']),
    database_role: z.string().describe('The Postgres role the request runs as'),
    database_uid: z.string().uuid().nullable().describe('auth.uid() as row-level security sees it'),
  })
  .openapi('Me');

/** `GET /api/v1/me`: who the token says you are, and how the database sees you. */
export function meRoutes(db: Db) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/me',
      tags: ['auth'],
      summary: 'The caller, as the token and the database see it',
      security: [{ bearerAuth: [] }],
      responses: {
        200: { description: 'The caller', content: { 'application/json': { schema: MeSchema } } },
      },
    }),
    async (c) => {
      const { userId, role, claims } = c.get('auth');
      const row = await asUser(db, claims, async (tx) => {
        const { rows } = await tx.query<{ database_role: string; database_uid: string | null }>(
          'select current_user as database_role, auth.uid()::text as database_uid',
        );
        return rows[0]!;
      });
      return c.json({ user_id: userId, role, ...row }, 200);
    },
  );
  return app;
}
