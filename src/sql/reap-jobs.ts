import type { Queryable } from '../db/types.ts';
import { refundReapedSql } from './budgets.ts';

export interface ReapResult {
  requeued: number;
  failed: number;
  timedOut: number;
}

/**
 * One pass of the reaper, in one transaction per step:
 * - running jobs whose lease expired go back to pending, or fail once they used max_attempts;
 * - running jobs started more than `runningTimeoutMs` ago are marked timed_out.
 * Every job ended here gets its quota and its dollar reservation refunded exactly once (each
 * ledger's `final:` key).
 */
export async function reapJobs(
  db: Queryable,
  input: { runningTimeoutMs: number; recipes: readonly string[] },
): Promise<ReapResult> {
  const { rows } = await db.query<{ status: string; count: number }>(
    `with timed_out as (
       select id from public.ai_generations
        where status = 'running' and recipe = any($2::text[])
          and started_at < now() - make_interval(secs => $1::double precision / 1000)
        for update skip locked
     ),
     expired as (
       select id, attempts >= max_attempts as exhausted from public.ai_generations
        where status = 'running' and recipe = any($2::text[]) and lease_until < now()
          and id not in (select id from timed_out)
        for update skip locked
     ),
     changed as (
       update public.ai_generations g
          set status = case
                when g.id in (select id from timed_out) then 'timed_out'
                when e.exhausted then 'failed'
                else 'pending'
              end,
              finished_at = case when g.id in (select id from timed_out) or e.exhausted then now() end,
              error = case
                when g.id in (select id from timed_out) then jsonb_build_object(
                  'code', 'timed_out', 'message', 'the job ran longer than the time limit')
                when e.exhausted then jsonb_build_object(
                  'code', 'lease_expired', 'message', 'the worker stopped responding on every attempt',
                  'attempts', g.attempts)
                else g.error
              end,
              lease_until = null,
              locked_by = null,
              run_after = now()
         from (select id, exhausted from expired union all select id, false from timed_out) e
        where g.id = e.id
       returning g.id, g.user_id, g.status
     ),
     refunds as (
       insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key, metadata)
       select c.user_id, c.id, 'refund', 1, 'final:' || c.id::text, jsonb_build_object('reason', c.status)
         from changed c
        where c.status in ('failed', 'timed_out')
          and exists (select 1 from public.usage_ledger l where l.idempotency_key = 'reserve:' || c.id::text)
       on conflict (idempotency_key) do nothing
     ),
     budget_refunds as (${refundReapedSql('changed')})
     select status, count(*)::int as count from changed group by status`,
    [input.runningTimeoutMs, input.recipes],
  );
  const count = (status: string) => rows.find((row) => row.status === status)?.count ?? 0;
  return { requeued: count('pending'), failed: count('failed'), timedOut: count('timed_out') };
}
