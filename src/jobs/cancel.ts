import { asUser, type Claims } from '../db/context.ts';
import { DomainError, notFound } from '../lib/domain-errors.ts';
import { finishReservation } from '../sql/budgets.ts';
import { finalizeGeneration } from '../sql/usage.ts';

/** The columns of a job as users see it (`AIGeneration` in the API). */
export const JOB_VIEW_COLUMNS = `id, status, model, prompt_version, tokens_input, tokens_output, cost_usd, error, ai_metadata,
  created_at, updated_at, finished_at`;

/**
 * Cancels the caller's pending or running job of `recipe` and gives its quota unit and its
 * dollar reservation back, in one transaction. The update runs as the user, so row-level security decides whose job it can be;
 * the refund, which the user may not write, runs as genloop. Another user's job is not found;
 * one that already ended is a conflict.
 */
export async function cancelJob(
  db: Parameters<typeof asUser>[0],
  { claims, id, recipe }: { claims: Claims; id: string; recipe: string },
): Promise<Record<string, unknown>> {
  return asUser(db, claims, async (tx) => {
    const { rows } = await tx.query(
      `update public.ai_generations set status = 'canceled', finished_at = now()
        where id = $1 and recipe = $2 and status in ('pending', 'running')
        returning ${JOB_VIEW_COLUMNS}`,
      [id, recipe],
    );
    if (!rows[0]) {
      const existing = await tx.query<{ status: string }>(
        'select status from public.ai_generations where id = $1 and recipe = $2',
        [id, recipe],
      );
      if (!existing.rows[0]) throw notFound('generation');
      throw new DomainError(
        'conflict',
        'not_cancelable',
        `the generation already ended (${existing.rows[0].status})`,
      );
    }
    await tx.query('reset role');
    await finalizeGeneration(tx, {
      userId: claims.sub,
      generationId: id,
      outcome: 'refund',
      reason: 'canceled',
    });
    await finishReservation(tx, { reservationId: id, outcome: 'refund', reason: 'canceled' });
    return rows[0];
  });
}
