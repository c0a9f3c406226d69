import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../../http/validation.ts';
import {
  ADMIN_PREFIX,
  type RolloutEntry,
  RolloutPageSchema,
  RolloutsQuerySchema,
  type Verification,
  VerificationSchema,
  VerifyParamsSchema,
} from '../contract.ts';
import { verifyEnvironment } from './actions.ts';
import {
  ADMIN_ERRORS,
  type AdminDeps,
  adminSecurity,
  decodeIdCursor,
  encodeIdCursor,
  operatorOf,
  pageOf,
  problem,
  rowsAs,
} from './shared.ts';
import { selectRolloutLog } from './sql.ts';

/** `/api/v1/admin/rollouts`: the rollout log, and `genloop rollout verify` as a request. */
export function rolloutRoutes({ db }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/rollouts`,
      tags: ['admin'],
      summary: 'The rollout log, newest first (optionally one environment)',
      security: adminSecurity,
      request: { query: RolloutsQuerySchema },
      responses: {
        200: {
          description: 'A page',
          content: { 'application/json': { schema: RolloutPageSchema } },
        },
        400: problem('Malformed environment, cursor or limit'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { environment, cursor, limit } = c.req.valid('query');
      const before = cursor === undefined ? undefined : decodeIdCursor(cursor);
      const { rows, last } = pageOf(
        await selectRolloutLog(db, { environment, before, limit: limit + 1 }),
        limit,
      );
      return c.json(
        {
          data: rowsAs<RolloutEntry>(rows),
          next_cursor: last ? encodeIdCursor(last.id) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${ADMIN_PREFIX}/rollouts/{environment}/verify`,
      tags: ['admin'],
      summary:
        'Run the rollout verification of a target and log it, as `genloop rollout verify` does',
      description:
        'Answers 200 whether the checks pass or not: `passed` and each check say which. The run is written to ai_rollout_log (action verify, status ok or failed).',
      security: adminSecurity,
      request: { params: VerifyParamsSchema },
      responses: {
        200: {
          description: 'The checks',
          content: { 'application/json': { schema: VerificationSchema } },
        },
        400: problem('The environment is not a rollout target (staging, prod, single_db)'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { environment } = c.req.valid('param');
      const result = await verifyEnvironment(db, environment, operatorOf(c));
      const body: Verification = {
        target: result.target,
        passed: result.passed,
        checks: result.checks.map((check) => ({ ...check, rows: rowsAs(check.rows) })),
        rollout_log_id: result.rolloutLogId,
      };
      return c.json(body, 200);
    },
  );

  return app;
}
