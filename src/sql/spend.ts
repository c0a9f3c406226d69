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
  /** Calls with a known cost. */
  calls: number;
  /** Calls whose cost is unknown: left out of every sum. */
  unpriced_calls: number;
  by_provider: SpendRow[];
  top_users: SpendRow[];
}

// One pass over the (created_at, id) index that carries cost, provider and user (an index-only
// scan of the window), grouped with grouping sets per provider, per user and in total; only the
// users who spent most leave the database. A row of unknown cost is left out rather than
// counted as free; the rows of the window are counted apart, from the same index, so the
// unknown ones are the difference.
const RAW_SPEND_SQL = `
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
  select by_provider, by_user, key, cost_usd, calls,
         (select count(*) from public.ai_training_examples
           where created_at >= $1 and created_at < $2)::integer as rows
    from ranked
   where not by_user or rank <= $3
   order by cost_usd desc, calls desc, key`;

/**
 * What the telemetry rows of `[from, to)` cost, summed from the rows themselves: in total, per
 * provider (most first) and for the `topUsers` users who spent most. For short windows that do
 * not start on the hour (the rollups' grain). Rows without a user (API keys, evals) count in
 * the total and per provider, never as a top user.
 */
export async function selectRawSpend(
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
    rows: number;
  }>(RAW_SPEND_SQL, [from, to, topUsers]);
  const total = rows.find((entry) => !entry.by_provider && !entry.by_user);
  const calls = total?.calls ?? 0;
  return {
    total_usd: Number(total?.cost_usd ?? 0),
    calls,
    // Without any priced row there is no total row to carry the window's count.
    unpriced_calls: total ? total.rows - calls : await countRows(db, from, to),
    by_provider: rows.filter((entry) => entry.by_provider).map(spendRow),
    top_users: rows.filter((entry) => entry.by_user).map(spendRow),
  };
}

async function countRows(db: Queryable, from: Date, to: Date): Promise<number> {
  const { rows } = await db.query<{ rows: number }>(
    `select count(*)::integer as rows from public.ai_training_examples
      where created_at >= $1 and created_at < $2`,
    [from, to],
  );
  return rows[0]!.rows;
}

const spendRow = ({ key, cost_usd, calls }: SpendRow): SpendRow => ({
  key,
  cost_usd: Number(cost_usd),
  calls,
});

// The hourly rollup's cost per provider (and in total) over whole hours: at most 24 or 168
// hours of a few dozen rows each.
const PROVIDER_SPEND_SQL = `
  select grouping(selected_provider) = 0 as by_provider,
         nullif(selected_provider, 'none') as key,
         sum(cost_usd)::double precision as cost_usd,
         sum(cost_count)::integer as calls,
         sum(total_count - cost_count)::integer as unpriced_calls
    from public.ai_training_examples_hourly
   where bucket_start >= $1 and bucket_start < $2
   group by grouping sets ((selected_provider), ())`;

// The users who spent most over whole UTC days ($1), from the per-user daily rollup, without
// summing every user of every day (a busy app has tens of thousands a day): candidates are the
// $2 biggest spenders of each day, read from the head of the day's spend index, and only their
// days are summed. A user who is no candidate spent at most, on each day, what that day's $2-th
// candidate spent; `bound` is that sum over the days whose list was not read to its end. When
// the $3-th candidate spent more than `bound` nobody else can rank above it and the answer is
// exact; otherwise the caller asks again with more candidates per day. Spend is usually skewed
// (a few users spend most), so the first read settles it; with every user spending alike it
// takes a few reads, the last one reading every user of the days.
const USER_SPEND_SQL = `
  with heads as (
    select t.user_id, t.cost_usd, t.rank
      from unnest($1::timestamptz[]) as d(day)
      cross join lateral (
        select u.user_id, u.cost_usd, row_number() over (order by u.cost_usd desc) as rank
          from public.ai_training_examples_user_daily u
         where u.bucket_start = d.day and u.cost_count > 0
         order by u.cost_usd desc
         limit $2
      ) t
  ),
  bound as (
    select coalesce(sum(cost_usd) filter (where rank = $2), 0)::double precision as cost_usd,
           (count(*) filter (where rank = $2))::integer as open_days
      from heads
  ),
  ranked as (
    select u.user_id::text as key,
           sum(u.cost_usd)::double precision as cost_usd,
           sum(u.cost_count)::integer as calls
      from public.ai_training_examples_user_daily u
     where u.bucket_start = any($1::timestamptz[])
       and u.user_id = any(array(select distinct user_id from heads))
       and u.cost_count > 0
     group by u.user_id
     order by 2 desc, 3 desc, 1
     limit $3
  )
  select r.key, r.cost_usd, r.calls, b.cost_usd as bound, b.open_days
    from bound b
    left join ranked r on true
   order by r.cost_usd desc, r.calls desc, r.key`;

const DAY = 86_400_000;
/** Candidates per day at first: most spend is skewed enough that the first read settles it. */
const FIRST_CANDIDATES = 40;

/**
 * The `topUsers` users who spent most over the UTC days from `from` (midnight) to `to`, most
 * first (then most calls, then by id), exactly as summing every user's days would rank them.
 */
export async function selectTopSpenders(
  db: Queryable,
  {
    from,
    to,
    topUsers,
    firstCandidates = Math.max(FIRST_CANDIDATES, 4 * topUsers),
  }: { from: Date; to: Date; topUsers: number; firstCandidates?: number },
): Promise<SpendRow[]> {
  const days: Date[] = [];
  for (let day = from.getTime(); day < to.getTime(); day += DAY) days.push(new Date(day));
  for (let candidates = firstCandidates; ; candidates *= 8) {
    const { rows } = await db.query<SpendRow & { bound: number; open_days: number }>(
      USER_SPEND_SQL,
      [days, candidates, topUsers],
    );
    const ranked = rows.filter((row) => row.key !== null).map(spendRow);
    const { bound, open_days: openDays } = rows[0]!;
    const settled =
      openDays === 0 || (ranked.length === topUsers && ranked.at(-1)!.cost_usd > bound);
    if (settled) return ranked;
  }
}

/**
 * What the telemetry of whole hours cost, read from the rollups: in total and per provider over
 * the hours from `from` (on the hour) to `to`, and the `topUsers` users who spent most over the
 * UTC days from `usersFrom` (midnight) to `to`.
 */
export async function selectRollupSpend(
  db: Queryable,
  { from, to, usersFrom, topUsers }: { from: Date; to: Date; usersFrom: Date; topUsers: number },
): Promise<SpendInWindow> {
  const [providers, users] = await Promise.all([
    db.query<SpendRow & { by_provider: boolean; unpriced_calls: number }>(PROVIDER_SPEND_SQL, [
      from,
      to,
    ]),
    selectTopSpenders(db, { from: usersFrom, to, topUsers }),
  ]);
  const total = providers.rows.find((row) => !row.by_provider);
  // As the raw read orders them: most spent first, then most calls, then by name, none last.
  const order = (a: SpendRow, b: SpendRow) =>
    b.cost_usd - a.cost_usd ||
    b.calls - a.calls ||
    Number(a.key === null) - Number(b.key === null) ||
    (a.key ?? '').localeCompare(b.key ?? '');
  return {
    total_usd: Number(total?.cost_usd ?? 0),
    calls: total?.calls ?? 0,
    unpriced_calls: total?.unpriced_calls ?? 0,
    by_provider: providers.rows
      .filter((row) => row.by_provider && row.calls > 0)
      .map(spendRow)
      .sort(order),
    top_users: users,
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
