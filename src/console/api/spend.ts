import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../../http/validation.ts';
import { selectPlans } from '../../sql/budgets.ts';
import {
  selectRawSpend,
  selectRollupSpend,
  selectUserBudgets,
  selectUserLimits,
  type UserBudgetRow,
} from '../../sql/spend.ts';
import { ADMIN_PREFIX, type Spend, SpendQuerySchema, SpendSchema } from '../contract.ts';
import { windowStart } from './overview.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, problem } from './shared.ts';

const TOP_USERS = 10;
const USER_LIMITS_SHOWN = 20;
const DAY = 86_400_000;

/** `GET /api/v1/admin/spend`: dollars per provider and per user in a window, and the budgets. */
export function spendRoutes({ db }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/spend`,
      tags: ['admin'],
      summary: 'Spend per provider and the users who spent most over a window; the budgets set',
      security: adminSecurity,
      request: { query: SpendQuerySchema },
      responses: {
        200: { description: 'Spend', content: { 'application/json': { schema: SpendSchema } } },
        400: problem('Unknown window'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { window } = c.req.valid('query');
      const now = Date.now();
      const from = windowStart(window, now);
      const to = new Date(now);
      // The last hour starts on a minute, inside an hour bucket, so it is summed from its rows
      // (a few thousand on a busy table); longer windows start on the hour and read the rollups,
      // whose spend per user is kept per UTC day.
      const raw = window === '1h';
      const usersFrom = raw ? from : new Date(Math.floor(from.getTime() / DAY) * DAY);
      const [spend, plans, userLimits] = await Promise.all([
        raw
          ? selectRawSpend(db, from, to, TOP_USERS)
          : selectRollupSpend(db, { from, to, usersFrom, topUsers: TOP_USERS }),
        selectPlans(db),
        selectUserLimits(db, USER_LIMITS_SHOWN),
      ]);
      const budgets = new Map(
        (
          await selectUserBudgets(
            db,
            spend.top_users.map((user) => user.key!),
          )
        ).map((row) => [row.user_id, row]),
      );
      const body: Spend = {
        window,
        from: from.toISOString(),
        to: to.toISOString(),
        read_from: raw ? 'raw' : 'rollup',
        total_usd: spend.total_usd,
        calls: spend.calls,
        unpriced_calls: spend.unpriced_calls,
        users_from: usersFrom.toISOString(),
        by_provider: spend.by_provider.map(({ key, ...row }) => ({ provider: key, ...row })),
        top_users: spend.top_users.map(({ key, ...row }) => {
          const budget = budgets.get(key!);
          return { user_id: key!, ...row, budget: budget ? budgetOf(budget) : null };
        }),
        budgets: {
          plans: plans.map((plan) => ({ ...plan, limit_usd: Number(plan.limit_usd) })),
          user_limits: userLimits.rows.map((row) => ({ user_id: row.user_id, ...budgetOf(row) })),
          user_limits_total: userLimits.total,
        },
      };
      return c.json(body, 200);
    },
  );
  return app;
}

function budgetOf(row: UserBudgetRow): NonNullable<Spend['top_users'][number]['budget']> {
  return { limit_usd: row.limit_usd, period: row.period, source: row.source, plan: row.plan };
}
