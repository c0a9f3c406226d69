import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../../http/validation.ts';
import { selectPlans } from '../../sql/budgets.ts';
import {
  selectSpend,
  selectUserBudgets,
  selectUserLimits,
  type UserBudgetRow,
} from '../../sql/spend.ts';
import {
  ADMIN_PREFIX,
  type Spend,
  SpendQuerySchema,
  SpendSchema,
  type Window,
} from '../contract.ts';
import { windowStart } from './overview.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, problem } from './shared.ts';

const TOP_USERS = 10;
const USER_LIMITS_SHOWN = 20;

/**
 * Spend is summed from raw telemetry rows (the rollups carry no cost and no users), which stays
 * under 100 ms for a day of a busy table; a week would read seven times as many rows, so the
 * 7-day window sums the last 24 hours and says so with `capped`.
 */
const SUMMED: Record<Window, Window> = { '1h': '1h', '24h': '24h', '7d': '24h' };

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
      const summed = SUMMED[window];
      const from = windowStart(summed, now);
      const to = new Date(now);
      const [spend, plans, userLimits] = await Promise.all([
        selectSpend(db, from, to, TOP_USERS),
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
        capped: summed !== window,
        total_usd: spend.total_usd,
        calls: spend.calls,
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
