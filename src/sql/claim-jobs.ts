import type { Db, Queryable } from '../db/types.ts';

/** A job as the worker sees it after claiming. */
export interface ClaimedJob {
  id: string;
  user_id: string;
  recipe: 'flashcards' | 'interior' | 'site';
  source_text: string | null;
  model: string | null;
  prompt_version: string | null;
  mode: string | null;
  input: Record<string, unknown>;
  request_id: string | null;
  attempts: number;
  max_attempts: number;
  provider: string | null;
  provider_prediction_id: string | null;
  created_at: Date;
}

/**
 * Claims up to `limit` runnable jobs for `workerId` in one statement: `for update skip locked`
 * so concurrent workers never claim the same job, moved to running with a lease.
 *
 * The statement runs with sorting disabled (transaction-local), so Postgres reads the pending
 * jobs in `run_after` order straight from their partial index and stops after `limit`. With
 * row estimates from a time the queue was short (fresh statistics after a burst are the norm
 * for a queue) the planner otherwise prefers to collect every pending job and sort them, and
 * each claim then costs time in proportion to the backlog.
 *
 * The worker's statements set `updated_at` themselves: the row's touch trigger then stays
 * quiet, which matters on a row rewritten at the rate jobs run.
 */
export async function claimJobs(
  db: Db,
  input: { workerId: string; limit: number; leaseMs: number; recipes: readonly string[] },
): Promise<ClaimedJob[]> {
  return db.transaction(async (tx) => {
    await tx.query(`select set_config('enable_sort', 'off', true)`);
    const { rows } = await tx.query<ClaimedJob>(
      `with picked as (
         select id
           from public.ai_generations
          where status = 'pending' and run_after <= now() and recipe = any($4::text[])
          order by run_after
          limit $1
          for update skip locked
       )
       update public.ai_generations g
          set status = 'running',
              attempts = g.attempts + 1,
              lease_until = now() + make_interval(secs => $2::double precision / 1000),
              locked_by = $3,
              started_at = coalesce(g.started_at, now()),
              updated_at = now()
         from picked
        where g.id = picked.id
       returning g.id, g.user_id, g.recipe, g.source_text, g.model, g.prompt_version, g.mode, g.input,
                 g.request_id, g.attempts, g.max_attempts, g.provider, g.provider_prediction_id, g.created_at`,
      [input.limit, input.leaseMs, input.workerId, input.recipes],
    );
    return rows;
  });
}

/** Extends the leases of the jobs this worker still runs; returns the ids it still holds. */
export async function heartbeatJobs(
  db: Queryable,
  input: { workerId: string; ids: readonly string[]; leaseMs: number },
): Promise<string[]> {
  if (input.ids.length === 0) return [];
  // Rows are locked in id order, as group completion locks them, so the two never deadlock.
  const { rows } = await db.query<{ id: string }>(
    `with held as (
       select id from public.ai_generations
        where id = any($1::uuid[]) and locked_by = $2 and status = 'running'
        order by id
        for update
     )
     update public.ai_generations g
        set lease_until = now() + make_interval(secs => $3::double precision / 1000),
            updated_at = now()
       from held
      where g.id = held.id
      returning g.id`,
    [input.ids, input.workerId, input.leaseMs],
  );
  return rows.map((row) => row.id);
}

/** Gives jobs back to the queue (graceful shutdown): they run again on another worker. */
export async function releaseJobs(
  db: Queryable,
  input: { workerId: string; ids: readonly string[] },
): Promise<number> {
  if (input.ids.length === 0) return 0;
  const { rowCount } = await db.query(
    `update public.ai_generations
        set status = 'pending', locked_by = null, lease_until = null, run_after = now(),
            attempts = greatest(attempts - 1, 0)
      where id = any($1::uuid[]) and locked_by = $2 and status = 'running'`,
    [input.ids, input.workerId],
  );
  return rowCount;
}
