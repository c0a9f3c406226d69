import type { Queryable } from '../db/types.ts';
import { newId } from '../lib/uuid.ts';

/**
 * The usage ledger: a reservation (-1) at submit; then exactly one final entry per generation —
 * `settle` (0) on success or `refund` (+1) otherwise — because both use the idempotency key
 * `final:<generation_id>`. Remaining = allowance + sum(amount) over the month.
 */
export async function remainingGenerations(
  db: Queryable,
  userId: string,
  allowance: number,
): Promise<{ used: number; remaining: number }> {
  const { rows } = await db.query<{ balance: number }>(
    `select (${monthlyBalanceSql('$1')}) as balance`,
    [userId],
  );
  return usageFromBalance(rows[0]?.balance ?? 0, allowance);
}

/** The user's ledger balance this month, as an int scalar subquery (`$n` = the user id). */
export function monthlyBalanceSql(userParam: string): string {
  return `select coalesce(sum(amount), 0)::int
       from public.usage_ledger
      where user_id = ${userParam} and period = date_trunc('month', timezone('utc', now()))::date`;
}

/** Usage and what is left of `allowance`, from the balance {@link monthlyBalanceSql} reads. */
export function usageFromBalance(
  balance: number,
  allowance: number,
): { used: number; remaining: number } {
  return { used: Math.max(0, -balance), remaining: allowance + balance };
}

/** Takes one unit for a generation (once: keyed `reserve:<id>`). */
export async function reserveGeneration(
  db: Queryable,
  userId: string,
  generationId: string,
): Promise<void> {
  await db.query(reserveGenerationSql('$1', '$2', '$3'), [userId, generationId, newId()]);
}

/**
 * The statement of {@link reserveGeneration} (`$n` = the user id, the generation id and the
 * entry's own id, from `newId`).
 */
export function reserveGenerationSql(
  userParam: string,
  generationParam: string,
  idParam: string,
): string {
  return `insert into public.usage_ledger (id, user_id, generation_id, kind, amount, idempotency_key)
     values (${idParam}::uuid, ${userParam}::uuid, ${generationParam}::uuid, 'reserve', -1,
             'reserve:' || ${generationParam}::uuid::text)
     on conflict (idempotency_key) do nothing`;
}

/**
 * Ends a reservation: `settle` keeps the unit spent, `refund` gives it back. Only the first call
 * per generation has an effect; returns whether this call was it.
 */
export async function finalizeGeneration(
  db: Queryable,
  input: { userId: string; generationId: string; outcome: 'settle' | 'refund'; reason?: string },
): Promise<boolean> {
  return (await finalizeGenerations(db, [input])) > 0;
}

/**
 * {@link finalizeGeneration} for many generations in one statement, as the worker completes
 * jobs in groups: per generation one `settle` (0) or `refund` (+1) keyed
 * `final:<generation_id>`, only where its reservation exists; a repeated call changes nothing.
 * Each reservation is looked up through the unique key (the `limit 1` keeps it a per-row index
 * probe whatever the planner thinks of the ledger's size). Returns how many entries it wrote.
 */
export async function finalizeGenerations(
  db: Queryable,
  entries: readonly {
    userId: string;
    generationId: string;
    outcome: 'settle' | 'refund';
    reason?: string;
  }[],
): Promise<number> {
  if (entries.length === 0) return 0;
  const { rowCount } = await db.query(
    `insert into public.usage_ledger (id, user_id, generation_id, kind, amount, idempotency_key, metadata)
     select e.id, e.user_id, e.generation_id, e.outcome, case when e.outcome = 'refund' then 1 else 0 end,
            'final:' || e.generation_id::text, jsonb_build_object('reason', e.reason)
       from unnest($5::uuid[], $1::uuid[], $2::uuid[], $3::text[], $4::text[])
              as e(id, user_id, generation_id, outcome, reason)
       join lateral (
         select 1 from public.usage_ledger
          where idempotency_key = 'reserve:' || e.generation_id::text
          limit 1
       ) as reserved on true
     on conflict (idempotency_key) do nothing`,
    [
      entries.map((entry) => entry.userId),
      entries.map((entry) => entry.generationId),
      entries.map((entry) => entry.outcome),
      entries.map((entry) => entry.reason ?? null),
      entries.map(() => newId()),
    ],
  );
  return rowCount;
}

/**
 * Charges a generation that succeeded after it had timed out and been refunded (a late
 * webhook or poll still completes the job): one `adjust` of -1, once (keyed
 * `late:<generation_id>`), and only when the refund it balances exists. Net usage of such a
 * job is then one unit, like any other success. Returns whether this call charged.
 */
export async function debitLateSuccess(
  db: Queryable,
  input: { userId: string; generationId: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key, metadata)
     select $1::uuid, $2::uuid, 'adjust', -1, 'late:' || $2::uuid::text,
            jsonb_build_object('reason', 'late_success')
      where exists (
        select 1 from public.usage_ledger
         where idempotency_key = 'final:' || $2::uuid::text and kind = 'refund'
      )
     on conflict (idempotency_key) do nothing`,
    [input.userId, input.generationId],
  );
  return rowCount > 0;
}
