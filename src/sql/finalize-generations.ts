import type { Queryable } from '../db/types.ts';

/**
 * `finalizeGeneration` (src/sql/usage.ts) for many generations in one statement, as the worker
 * completes jobs in groups: per generation one `settle` (0) or `refund` (+1) keyed
 * `final:<generation_id>`, only where its reservation exists; a repeated call changes nothing.
 * Returns how many entries this call wrote.
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
    `insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key, metadata)
     select e.user_id, e.generation_id, e.outcome, case when e.outcome = 'refund' then 1 else 0 end,
            'final:' || e.generation_id::text, jsonb_build_object('reason', e.reason)
       from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
              as e(user_id, generation_id, outcome, reason)
      where exists (
        select 1 from public.usage_ledger
         where idempotency_key = 'reserve:' || e.generation_id::text
      )
     on conflict (idempotency_key) do nothing`,
    [
      entries.map((entry) => entry.userId),
      entries.map((entry) => entry.generationId),
      entries.map((entry) => entry.outcome),
      entries.map((entry) => entry.reason ?? null),
    ],
  );
  return rowCount;
}
