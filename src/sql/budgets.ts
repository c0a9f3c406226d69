import type { Db, Queryable } from '../db/types.ts';

/** A budget's period: a UTC day or a UTC calendar month. */
export const BUDGET_PERIODS = ['day', 'month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** The NOTIFY channel a change of a plan or of a user's budget is announced on. */
export const BUDGET_CHANNEL = 'genloop_budgets';

/** The limit that applies to a user: their own, else their plan's. */
export interface EffectiveBudget {
  limitUsd: number;
  period: BudgetPeriod;
  /** Where the limit comes from. */
  source: 'user' | 'plan';
  plan: string | null;
}

/** A user's spending in the current period of their budget. */
export interface BudgetStatus extends EffectiveBudget {
  userId: string;
  /** The real cost of the calls settled in this period (a call of unknown cost counts as reserved). */
  spentUsd: number;
  /** What calls still in flight may spend. */
  reservedUsd: number;
  periodStart: Date;
  resetsAt: Date;
}

export type ReserveOutcome =
  | { kind: 'unlimited' }
  | { kind: 'reserved'; periodStart: Date; resetsAt: Date }
  | { kind: 'refused'; limitUsd: number; committedUsd: number; resetsAt: Date };

const EFFECTIVE_SQL = `
  select case when u.limit_usd is not null then u.limit_usd else p.limit_usd end as limit_usd,
         case when u.limit_usd is not null then u.period else p.period end as period,
         case when u.limit_usd is not null then 'user' else 'plan' end as source,
         u.plan
    from public.budget_users u
    left join public.budget_plans p on p.name = u.plan
   where u.user_id = $1 and (u.limit_usd is not null or p.name is not null)`;

/**
 * The period that `$now` falls in (`$period` day or month, UTC), and the user's running totals in
 * it (budget_spend, which a trigger keeps equal to the sums of the period's ledger entries). Kept
 * in SQL so the database's calendar decides where a period begins.
 */
const WINDOW_SQL = `
  with b as (${EFFECTIVE_SQL}),
  w as (
    select b.*, date_trunc(b.period, $2::timestamptz, 'UTC') as period_start from b
  )
  select w.limit_usd, w.period, w.source, w.plan, w.period_start,
         w.period_start + case when w.period = 'day' then interval '1 day' else interval '1 month' end
           as resets_at,
         coalesce(s.committed_usd, 0) as committed,
         coalesce(s.settled_cost_usd, 0) as settled_cost
    from w
    left join public.budget_spend s on s.user_id = $1 and s.period_start = w.period_start`;

interface WindowRow {
  limit_usd: number;
  period: BudgetPeriod;
  source: 'user' | 'plan';
  plan: string | null;
  period_start: Date;
  resets_at: Date;
  committed: number;
  settled_cost: number;
}

/** Whether any budget is set at all (a plan in use or a user's own limit). */
export async function budgetsExist(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>(
    `select exists (
       select 1 from public.budget_users where limit_usd is not null or plan is not null
     ) as exists`,
  );
  return rows[0]?.exists ?? false;
}

export interface ReserveInput {
  userId: string;
  reservationId: string;
  amountUsd: number;
  now: Date;
}

/**
 * Reserves `amountUsd` of the user's budget for one call, keyed by `reservationId` (a repeat is
 * a no-op that answers `reserved`): one call of `genloop_reserve_budget`, which takes a per-user
 * transaction lock, so two reservations of one user are decided one after the other: each sees
 * every reservation committed before it, and the sum of what is committed never passes the
 * limit, whatever the concurrency. On its own it is one statement and one commit; inside a
 * transaction the caller owns (a job's submission) the reservation commits or vanishes with
 * everything else that transaction writes, and the lock (and the user's running total, which
 * the entry changes) is held until it ends.
 */
export async function reserveBudget(db: Queryable, input: ReserveInput): Promise<ReserveOutcome> {
  const { rows } = await db.query<{
    outcome: 'unlimited' | 'reserved' | 'refused';
    limit_usd: number;
    committed_usd: number;
    resets_at: Date;
    period_start: Date;
  }>(
    `select outcome, limit_usd, committed_usd, period_start, resets_at
       from public.genloop_reserve_budget($1::uuid, $2::uuid, $3::numeric, $4::timestamptz)`,
    [input.userId, input.reservationId, input.amountUsd, input.now],
  );
  const row = rows[0]!;
  if (row.outcome === 'unlimited') return { kind: 'unlimited' };
  if (row.outcome === 'reserved') {
    return { kind: 'reserved', periodStart: row.period_start, resetsAt: row.resets_at };
  }
  return {
    kind: 'refused',
    limitUsd: row.limit_usd,
    committedUsd: row.committed_usd,
    resetsAt: row.resets_at,
  };
}

export type ExtendOutcome =
  /** The reservation covers the asked number of further calls (now, or already). */
  | { kind: 'extended'; amountUsd: number }
  /** No open reservation (none was made, or it has ended): nothing to extend. */
  | { kind: 'none' }
  | { kind: 'refused'; limitUsd: number; committedUsd: number; amountUsd: number; resetsAt: Date };

/**
 * Grows an open reservation so that it covers `extensions` calls beyond the first, each costing
 * at most what the first was reserved for (kept in its metadata as `call_usd`), under the same
 * per-user lock and limit check as a reservation: a call that pays for an unusable answer and
 * tries again can then never spend past the limit either. The reservation row itself grows, so
 * its settlement, refund or reaping needs nothing new; `extensions` in its metadata makes a
 * repeat a no-op.
 */
export function extendReservation(
  db: Db,
  input: { reservationId: string; extensions: number },
): Promise<ExtendOutcome> {
  return db.transaction(async (tx) => {
    const reservation = async () =>
      (
        await tx.query<{
          user_id: string;
          period_start: Date;
          amount_usd: number;
          call_usd: number | null;
          extensions: number | null;
          finished: boolean;
        }>(
          `select r.user_id, r.period_start, r.amount_usd,
                  (r.metadata ->> 'call_usd')::numeric as call_usd,
                  (r.metadata ->> 'extensions')::int as extensions,
                  exists (select 1 from public.budget_ledger f
                           where f.idempotency_key = 'final:' || r.reservation_id::text) as finished
             from public.budget_ledger r
            where r.idempotency_key = 'reserve:' || $1::uuid::text`,
          [input.reservationId],
        )
      ).rows[0];
    const first = await reservation();
    if (!first || first.finished) return { kind: 'none' };
    await tx.query(`select pg_advisory_xact_lock(hashtextextended('genloop.budget:' || $1, 0))`, [
      first.user_id,
    ]);
    // Read again under the lock: a concurrent extension of the same call may have come first.
    const current = await reservation();
    if (!current || current.finished) return { kind: 'none' };
    const done = current.extensions ?? 0;
    const call = Number(current.call_usd ?? current.amount_usd);
    if (done >= input.extensions)
      return { kind: 'extended', amountUsd: Number(current.amount_usd) };
    const more = roundUsd(call * (input.extensions - done));
    const { rows } = await tx.query<WindowRow>(WINDOW_SQL, [current.user_id, current.period_start]);
    const window = rows[0];
    if (window && Number(window.committed) + more > Number(window.limit_usd)) {
      return {
        kind: 'refused',
        limitUsd: window.limit_usd,
        committedUsd: window.committed,
        amountUsd: more,
        resetsAt: window.resets_at,
      };
    }
    const { rows: grown } = await tx.query<{ amount_usd: number }>(
      `update public.budget_ledger
          set amount_usd = amount_usd + $2::numeric,
              metadata = metadata || jsonb_build_object('call_usd', $3::numeric, 'extensions', $4::int)
        where idempotency_key = 'reserve:' || $1::uuid::text
        returning amount_usd`,
      [input.reservationId, more, call, input.extensions],
    );
    return { kind: 'extended', amountUsd: Number(grown[0]!.amount_usd) };
  });
}

/** How a reservation ends: `settle` with the real cost (null: unknown), or `refund`. */
export interface ReservationEnd {
  reservationId: string;
  outcome: 'settle' | 'refund';
  costUsd?: number | null;
  /** Why it ended (kept in the entry's metadata): a job's final status, `canceled`, … */
  reason?: string;
}

/**
 * Ends a reservation, once (keyed `final:<reservation id>`, only where the reservation exists):
 * with a known cost, `settle` gives back what was reserved beyond it; with an unknown cost the
 * reservation stays spent; `refund` gives it all back. Returns whether this call ended it.
 */
export async function finishReservation(db: Queryable, input: ReservationEnd): Promise<boolean> {
  return (await finishReservations(db, [input])) > 0;
}

/**
 * {@link finishReservation} for many reservations in one statement (the worker completes jobs
 * in groups). A reservation that does not exist (no budget applied when it was submitted) is
 * skipped; a repeated end changes nothing. Returns how many entries it wrote.
 */
export async function finishReservations(
  db: Queryable,
  entries: readonly ReservationEnd[],
): Promise<number> {
  if (entries.length === 0) return 0;
  const { rowCount } = await db.query(
    `insert into public.budget_ledger
       (user_id, reservation_id, kind, amount_usd, cost_usd, period_start, idempotency_key, metadata)
     select r.user_id, r.reservation_id, e.outcome,
            case when e.outcome = 'refund' then -r.amount_usd
                 when e.cost is null then 0
                 else e.cost - r.amount_usd end,
            e.cost, r.period_start, 'final:' || r.reservation_id::text,
            jsonb_strip_nulls(jsonb_build_object(
              'cost', case when e.outcome = 'settle' and e.cost is null then 'unknown' end,
              'reason', e.reason))
       from unnest($1::uuid[], $2::text[], $3::numeric[], $4::text[])
              as e(reservation_id, outcome, cost, reason)
       join public.budget_ledger r on r.idempotency_key = 'reserve:' || e.reservation_id::text
      -- Users' running totals are locked in one order by every statement that changes many.
      order by r.user_id
     on conflict (idempotency_key) do nothing`,
    [
      entries.map((entry) => entry.reservationId),
      entries.map((entry) => entry.outcome),
      entries.map((entry) => (entry.outcome === 'settle' ? (entry.costUsd ?? null) : null)),
      entries.map((entry) => entry.reason ?? null),
    ],
  );
  return rowCount;
}

/**
 * Charges a job that succeeded after it had timed out and been refunded (a late webhook or poll
 * still completes it): one `settle` of its real cost, or of its whole reservation when the cost
 * is unknown, once (keyed `late:<id>`), and only when the refund it balances exists. It may pass
 * the limit, since the refunded amount could be reserved by another call meanwhile: the money
 * was spent at the provider either way, and the budget records what was spent.
 */
export async function chargeLateSuccess(
  db: Queryable,
  input: { reservationId: string; costUsd: number | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into public.budget_ledger
       (user_id, reservation_id, kind, amount_usd, cost_usd, period_start, idempotency_key, metadata)
     select r.user_id, r.reservation_id, 'settle', coalesce($2::numeric, r.amount_usd),
            coalesce($2::numeric, r.amount_usd), r.period_start, 'late:' || r.reservation_id::text,
            '{"reason": "late_success"}'::jsonb
       from public.budget_ledger r
      where r.idempotency_key = 'reserve:' || $1::uuid::text
        and exists (select 1 from public.budget_ledger f
                     where f.idempotency_key = 'final:' || $1::uuid::text and f.kind = 'refund')
     on conflict (idempotency_key) do nothing`,
    [input.reservationId, input.costUsd],
  );
  return rowCount > 0;
}

/**
 * Reopens the finished reservation of a job an operator retries, once per retry: its
 * reservation and final entry are re-keyed `retried:<entry id>` (their amounts stay, so what the
 * earlier run spent stays spent), and a new reservation of the same amount is written in the
 * user's current period, keyed `reserve:<id>` again, for the new run to settle or refund. Like
 * the credits' re-reservation it is not refused at the limit: the operator redoes work already
 * accepted. Nothing happens when the job's reservation is still open or never existed, or when
 * the user no longer has a budget. Returns whether a new reservation was written.
 */
export async function reReserveRetried(
  db: Queryable,
  reservationId: string,
  now: Date,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `with final as (
       update public.budget_ledger set idempotency_key = 'retried:' || id::text
        where idempotency_key = 'final:' || $1::uuid::text
        returning id
     ),
     earlier as (
       update public.budget_ledger set idempotency_key = 'retried:' || id::text
        where idempotency_key = 'reserve:' || $1::uuid::text and exists (select 1 from final)
        -- One call's amount, also when the earlier run's reservation grew for paid retries.
        returning user_id, coalesce((metadata ->> 'call_usd')::numeric, amount_usd) as amount_usd
     ),
     budget as (
       select earlier.user_id, earlier.amount_usd,
              date_trunc(case when u.limit_usd is not null then u.period else p.period end,
                         $2::timestamptz, 'UTC') as period_start
         from earlier
         join public.budget_users u on u.user_id = earlier.user_id
         left join public.budget_plans p on p.name = u.plan
        where u.limit_usd is not null or p.name is not null
     )
     insert into public.budget_ledger
       (user_id, reservation_id, kind, amount_usd, period_start, idempotency_key, metadata)
     select user_id, $1::uuid, 'reserve', amount_usd, period_start, 'reserve:' || $1::uuid::text,
            '{"reason": "retry"}'::jsonb
       from budget
     on conflict (idempotency_key) do nothing`,
    [reservationId, now],
  );
  return rowCount > 0;
}

/**
 * The statement that refunds the reservations of jobs a reaper ended, for a `with` list: `$jobs`
 * names a CTE of `(id, status)` rows; only `failed` and `timed_out` ones are refunded, once.
 */
export function refundReapedSql(jobs: string): string {
  return `insert into public.budget_ledger
       (user_id, reservation_id, kind, amount_usd, period_start, idempotency_key, metadata)
     select r.user_id, r.reservation_id, 'refund', -r.amount_usd, r.period_start,
            'final:' || r.reservation_id::text, jsonb_build_object('reason', j.status)
       from ${jobs} j
       join public.budget_ledger r on r.idempotency_key = 'reserve:' || j.id::text
      where j.status in ('failed', 'timed_out')
      -- Users' running totals are locked in one order by every statement that changes many.
      order by r.user_id
     on conflict (idempotency_key) do nothing`;
}

/** A user's budget and spending in its current period, or undefined when no budget applies. */
export async function selectBudgetStatus(
  db: Queryable,
  userId: string,
  now: Date,
): Promise<BudgetStatus | undefined> {
  const { rows } = await db.query<WindowRow>(WINDOW_SQL, [userId, now]);
  const row = rows[0];
  if (!row) return undefined;
  // A settle of unknown cost keeps its reservation as spent; count it as spent, not in flight.
  const { rows: open } = await db.query<{ reserved: number; unknown_spent: number }>(
    `select coalesce(sum(r.amount_usd) filter (where f.id is null), 0) as reserved,
            coalesce(sum(r.amount_usd) filter (where f.kind = 'settle' and f.cost_usd is null), 0)
              as unknown_spent
       from public.budget_ledger r
       left join public.budget_ledger f on f.idempotency_key = 'final:' || r.reservation_id::text
      where r.user_id = $1 and r.period_start = $2 and r.kind = 'reserve'
        and r.idempotency_key = 'reserve:' || r.reservation_id::text`,
    [userId, row.period_start],
  );
  const reserved = open[0]?.reserved ?? 0;
  const unknownSpent = open[0]?.unknown_spent ?? 0;
  return {
    userId,
    limitUsd: row.limit_usd,
    period: row.period,
    source: row.source,
    plan: row.plan,
    spentUsd: roundUsd(row.settled_cost + unknownSpent),
    reservedUsd: roundUsd(reserved),
    periodStart: row.period_start,
    resetsAt: row.resets_at,
  };
}

/** Creates or changes a plan. */
export async function upsertPlan(
  db: Queryable,
  plan: { name: string; limitUsd: number; period: BudgetPeriod },
): Promise<void> {
  await db.query(
    `insert into public.budget_plans (name, limit_usd, period) values ($1, $2, $3)
     on conflict (name) do update
       set limit_usd = excluded.limit_usd, period = excluded.period,
           updated_at = now()`,
    [plan.name, plan.limitUsd, plan.period],
  );
}

/** Gives a user a limit of their own, which beats their plan's. */
export async function upsertUserLimit(
  db: Queryable,
  input: { userId: string; limitUsd: number; period: BudgetPeriod },
): Promise<void> {
  await db.query(
    `insert into public.budget_users (user_id, limit_usd, period) values ($1, $2, $3)
     on conflict (user_id) do update
       set limit_usd = excluded.limit_usd, period = excluded.period,
           updated_at = now()`,
    [input.userId, input.limitUsd, input.period],
  );
}

/** Puts a user on a plan; false when the plan does not exist (nothing changes). */
export async function assignPlan(
  db: Queryable,
  input: { userId: string; plan: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into public.budget_users (user_id, plan)
     select $1, name from public.budget_plans where name = $2
     on conflict (user_id) do update
       set plan = excluded.plan, updated_at = now()`,
    [input.userId, input.plan],
  );
  return rowCount > 0;
}

/** All plans, by name. */
export async function selectPlans(
  db: Queryable,
): Promise<{ name: string; limit_usd: number; period: BudgetPeriod; users: number }[]> {
  const { rows } = await db.query<{
    name: string;
    limit_usd: number;
    period: BudgetPeriod;
    users: number;
  }>(
    `select p.name, p.limit_usd, p.period,
            (select count(*) from public.budget_users u where u.plan = p.name)::int as users
       from public.budget_plans p order by p.name`,
  );
  return rows;
}

/** USD rounded to the 1e-10 the ledger keeps, so sums of floats print as the database holds them. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e10) / 1e10;
}
