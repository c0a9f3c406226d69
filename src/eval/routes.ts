import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { asUser } from '../db/context.ts';
import type { Db } from '../db/types.ts';
import { ProblemSchema } from '../http/problem-schema.ts';
import { validationHook } from '../http/validation.ts';
import { DomainError } from '../lib/domain-errors.ts';
import { recordOutcomes } from '../sql/outcomes.ts';

const OutcomesBodySchema = z
  .object({
    edit_after_generate: z
      .boolean()
      .optional()
      .describe('The user edited the generated result before using it'),
    patch_apply_success: z
      .boolean()
      .optional()
      .describe('A patch (edit request) applied cleanly to the generated result'),
    publish_conversion: z.boolean().optional().describe('The user published the generated result'),
  })
  .strict()
  .refine(
    (body) =>
      body.edit_after_generate !== undefined ||
      body.patch_apply_success !== undefined ||
      body.publish_conversion !== undefined,
    {
      message: 'give at least one of edit_after_generate, patch_apply_success, publish_conversion',
    },
  )
  .openapi('GenerationOutcomes');

const OutcomesResultSchema = z
  .object({
    id: z.string().uuid(),
    updated: z.number().int().describe('Telemetry rows updated (one per generation attempt row)'),
    edit_after_generate: z.boolean().nullable(),
    patch_apply_success: z.boolean().nullable(),
    publish_conversion: z.boolean().nullable(),
  })
  .openapi('GenerationOutcomesResult');

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/**
 * `POST /api/v1/generations/:id/outcomes`: the product records what happened to a generation
 * after the fact (edited, patched, published). `:id` is the generation id or the request id of
 * the caller's own telemetry rows. The update runs as the user, so row-level security keeps it
 * to the owner's rows: another user's generation is 404, like one that does not exist.
 */
export function outcomesRoutes(db: Db) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/generations/{id}/outcomes',
      tags: ['evals'],
      summary: 'Record late outcome signals of a generation (owner only)',
      security: [{ bearerAuth: [] }],
      request: {
        params: z.object({
          id: z.string().uuid().openapi({ description: 'generation_id or request_id' }),
        }),
        body: {
          required: true,
          content: { 'application/json': { schema: OutcomesBodySchema } },
        },
      },
      responses: {
        200: {
          description: 'The outcomes now stored',
          content: { 'application/json': { schema: OutcomesResultSchema } },
        },
        400: problem('Invalid id or body'),
        404: problem('No generation of the caller has this id'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const { claims, userId } = c.get('auth');
      const rows = await asUser(db, claims, (tx) =>
        recordOutcomes(tx, { id, userId, outcomes: body }),
      );
      const first = rows[0];
      if (first === undefined) {
        throw new DomainError('not_found', 'not_found', 'generation not found', {
          detail: `no generation of yours has id ${id}`,
        });
      }
      return c.json({ id, updated: rows.length, ...first }, 200);
    },
  );
  return app;
}
