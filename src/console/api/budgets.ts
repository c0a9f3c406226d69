import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  assignBudgetPlan,
  budgetStatusOf,
  MAX_BUDGET_USD,
  setBudget,
} from '../../budgets/admin.ts';
import { strictJson } from '../../http/middleware/strict-json/index.ts';
import { validationHook } from '../../http/validation.ts';
import { selectPlans } from '../../sql/budgets.ts';
import { ADMIN_PREFIX } from '../contract.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, problem } from './shared.ts';

const UserParamsSchema = z.object({
  user_id: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a uuid')
    .openapi({ param: { name: 'user_id', in: 'path' }, example: crypto.randomUUID() }),
});

const PlanParamsSchema = z.object({
  name: z
    .string()
    .openapi({ param: { name: 'name', in: 'path' }, example: 'free' })
    .describe('lower-case letters, digits, `_` and `-`; up to 63'),
});

const LimitSchema = z
  .object({
    usd: z
      .union([z.number(), z.string()])
      .describe(`the limit in US dollars, 0 to ${MAX_BUDGET_USD}, at most 8 decimals`),
    period: z.string().describe('`day` or `month` (UTC)'),
  })
  .strict()
  .openapi('BudgetLimit');

const AssignSchema = z.object({ plan: z.string() }).strict().openapi('BudgetAssignment');

const BudgetStatusSchema = z
  .object({
    user_id: z.string(),
    limit_usd: z.number().nullable(),
    spent_usd: z.number(),
    reserved_usd: z.number(),
    remaining_usd: z.number().nullable(),
    period: z.enum(['day', 'month']).nullable(),
    period_start: z.string().nullable(),
    resets_at: z.string().nullable(),
    source: z.enum(['user', 'plan']).nullable(),
    plan: z.string().nullable(),
  })
  .openapi('BudgetStatus');

const BudgetSetSchema = z
  .object({
    target: z.enum(['user', 'plan']),
    name: z.string(),
    limit_usd: z.number(),
    period: z.enum(['day', 'month']),
  })
  .openapi('BudgetSet');

const PlansSchema = z
  .object({
    data: z.array(
      z.object({
        name: z.string(),
        limit_usd: z.number(),
        period: z.enum(['day', 'month']),
        users: z.number().int(),
      }),
    ),
  })
  .openapi('BudgetPlans');

const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

/**
 * `/api/v1/admin/budgets`: what `genloop budget` does, for the service role. A user's own limit
 * beats their plan's; no budget means no limit.
 */
export function budgetRoutes({ db }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.on(['PUT'], `${ADMIN_PREFIX}/budgets/*`, strictJson({ requireBody: true }));

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/budgets/users/{user_id}`,
      tags: ['admin'],
      summary: "A user's budget, spending and reset time in the current period",
      security: adminSecurity,
      request: { params: UserParamsSchema },
      responses: {
        200: {
          description: 'The status (all nulls: no budget)',
          content: json(BudgetStatusSchema),
        },
        400: problem('Malformed user id'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { user_id } = c.req.valid('param');
      return c.json(await budgetStatusOf(db, user_id, new Date(), 'path.'), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: `${ADMIN_PREFIX}/budgets/users/{user_id}`,
      tags: ['admin'],
      summary: "Sets a user's own limit (it beats their plan's)",
      security: adminSecurity,
      request: {
        params: UserParamsSchema,
        body: { required: true, content: json(LimitSchema) },
      },
      responses: {
        200: { description: 'The limit set', content: json(BudgetSetSchema) },
        400: problem('Malformed user id, amount or period'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { user_id } = c.req.valid('param');
      const body = c.req.valid('json');
      const set = await setBudget(
        db,
        { user: user_id, usd: body.usd, period: body.period },
        'body.',
      );
      return c.json(
        { target: set.target, name: set.name, limit_usd: set.limitUsd, period: set.period },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: `${ADMIN_PREFIX}/budgets/users/{user_id}/plan`,
      tags: ['admin'],
      summary: 'Puts a user on a plan',
      security: adminSecurity,
      request: {
        params: UserParamsSchema,
        body: { required: true, content: json(AssignSchema) },
      },
      responses: {
        200: {
          description: 'The assignment',
          content: json(z.object({ user_id: z.string(), plan: z.string() })),
        },
        400: problem('Malformed user id or plan name'),
        404: problem('No such plan'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { user_id } = c.req.valid('param');
      const { plan } = c.req.valid('json');
      const assigned = await assignBudgetPlan(db, { user: user_id, plan }, 'body.');
      return c.json({ user_id: assigned.userId, plan: assigned.plan }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/budgets/plans`,
      tags: ['admin'],
      summary: 'The plans, with how many users each has',
      security: adminSecurity,
      responses: {
        200: { description: 'The plans', content: json(PlansSchema) },
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => c.json({ data: await selectPlans(db) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: `${ADMIN_PREFIX}/budgets/plans/{name}`,
      tags: ['admin'],
      summary: 'Creates a plan or changes its limit',
      security: adminSecurity,
      request: {
        params: PlanParamsSchema,
        body: { required: true, content: json(LimitSchema) },
      },
      responses: {
        200: { description: 'The limit set', content: json(BudgetSetSchema) },
        400: problem('Malformed plan name, amount or period'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      const set = await setBudget(db, { plan: name, usd: body.usd, period: body.period }, 'body.');
      return c.json(
        { target: set.target, name: set.name, limit_usd: set.limitUsd, period: set.period },
        200,
      );
    },
  );

  return app;
}
