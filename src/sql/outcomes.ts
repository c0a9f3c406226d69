import type { Queryable } from '../db/types.ts';

export interface Outcomes {
  edit_after_generate: boolean | null;
  patch_apply_success: boolean | null;
  publish_conversion: boolean | null;
}

/**
 * Records late outcome signals on the telemetry rows of one generation (`id` is its generation
 * id or request id); a signal left undefined keeps its value. Run as the user: row-level
 * security keeps the update to their own rows. Returns the rows' outcomes after the update.
 */
export async function recordOutcomes(
  tx: Queryable,
  { id, userId, outcomes }: { id: string; userId: string; outcomes: Partial<Outcomes> },
): Promise<Outcomes[]> {
  const { rows } = await tx.query<Outcomes>(
    `update public.ai_training_examples
        set edit_after_generate = coalesce($3, edit_after_generate),
            patch_apply_success = coalesce($4, patch_apply_success),
            publish_conversion = coalesce($5, publish_conversion)
      where (generation_id = $1 or request_id = $1)
        and user_id = $2
  returning edit_after_generate, patch_apply_success, publish_conversion`,
    [
      id,
      userId,
      outcomes.edit_after_generate ?? null,
      outcomes.patch_apply_success ?? null,
      outcomes.publish_conversion ?? null,
    ],
  );
  return rows;
}
