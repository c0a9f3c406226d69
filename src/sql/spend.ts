import type { Queryable } from '../db/types.ts';
import type { BudgetPeriod } from './budgets.ts';

/** Dollars spent on one provider (or by one user) in a window, and over how many calls. */
export interface SpendRow {
  key: string | null;
  cost_usd: number;
  calls: number;
}

export interface SpendInWindow {
  total_usd: number;
  calls: number;
  by_provider: SpendRow[];
  top_users: SpendRow[];
}

// One pass over the partial covering index of the rows with a known cost (an index-only scan
// of the window), grouped with grouping sets per provider, per user and in total; only the
// users who spent most leave the database. A row of unknown cost is left out rather than
// counted as free.
const SPEND_SQL = `
  with grouped as (
    select grouping(selected_provider) = 0 as by_provider,
           grouping(user_id) = 0 as by_user,
           coalesce(selected_provider, user_id::text) as key,
           sum(cost_usd::double precision) as cost_usd,
           count(*)::integer as calls
      from public.ai_training_examples
     where cost_usd is not null and created_at >= $1 and created_at < $2
     group by grouping sets ((selected_provider), (user_id), ())
  ),
  ranked as (
    select *, row_number() over (partition by by_user order by cost_usd desc, calls desc, key)
             as rank
      from grouped
     where not (by_user and key is null)
  )
  select by_provider, by_user, key, cost_usd, calls
    from ranked
   where not by_user or rank <= $3
   order by cost_usd desc, calls desc, key`;

/**
 * What the telemetry rows of `[from, to)` cost: in total, per provider (most first) and for the
 * `topUsers` users who spent most. Rows without a user (API keys, evals) count in the total and
 * per provider, never as a top user.
 */
export async function selectSpend(
  db: Queryable,
  from: Date,
  to: Date,
  topUsers: number,
): Promise<SpendInWindow> {
  const { rows } = await db.query<{
    by_provider: boolean;
    by_user: boolean;
    key: string | null;
    cost_usd: number;
    calls: number;
  }>(SPEND_SQL, [from, to, topUsers]);
  const row = ({ key, cost_usd, calls }: SpendRow): SpendRow => ({
    key,
    cost_usd: Number(cost_usd),
    calls,
  });
  const total = rows.find((entry) => !entry.by_provider && !entry.by_user);
  return {
    total_usd: Number(total?.cost_usd ?? 0),
    calls: total?.calls ?? 0,
    by_provider: rows.filter((entry) => entry.by_provider).map(row),
    top_users: rows.filter((entry) => entry.by_user).map(row),
  };
}

/** A user with a limit of their own, or on a plan. */
export interface UserBudgetRow {
  user_id: string;
  plan: string | null;
  limit_usd: number;
  period: BudgetPeriod;
  source: 'user' | 'plan';
}

/**
 * The limits that apply to some users (their own, else their plan's), for the users who have
 * one. The same rule as the gate's: a user's own limit beats their plan's.
 */
export async function selectUserBudgets(
  db: Queryable,
  userIds: readonly string[],
): Promise<UserBudgetRow[]> {
  if (userIds.length === 0) return [];
  const { rows } = await db.query<UserBudgetRow>(
    `select u.user_id::text as user_id, u.plan,
            coalesce(u.limit_usd, p.limit_usd)::double precision as limit_usd,
            coalesce(u.period, p.period) as period,
            case when u.limit_usd is not null then 'user' else 'plan' end as source
       from public.budget_users u
       left join public.budget_plans p on p.name = u.plan
      where u.user_id = any($1::uuid[]) and (u.limit_usd is not null or p.name is not null)`,
    [userIds],
  );
  return rows;
}

/** Users with a limit of their own, most generous first, and how many there are in all. */
export async function selectUserLimits(
  db: Queryable,
  limit: number,
): Promise<{ total: number; rows: UserBudgetRow[] }> {
  const { rows } = await db.query<UserBudgetRow & { total: number }>(
    `select u.user_id::text as user_id, u.plan, u.limit_usd::double precision as limit_usd,
            u.period, 'user' as source, count(*) over ()::integer as total
       from public.budget_users u
      where u.limit_usd is not null
      order by u.limit_usd desc, u.user_id
      limit $1`,
    [limit],
  );
  return {
    total: rows[0]?.total ?? 0,
    rows: rows.map(({ total: _total, ...row }) => row),
  };
}
