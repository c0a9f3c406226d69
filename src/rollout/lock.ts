import type { Queryable } from '../db/types.ts';

// One key for rollback, restore and anything else that rewrites routing rows ("rollout").
const ROLLOUT_LOCK_KEY = 0x726f6c6c6f7574;

/**
 * Serialises rollout changes on a database for the rest of the transaction, so two operators
 * (or a rollback and a canary step) never interleave their snapshots and updates.
 */
export async function lockRollout(tx: Queryable): Promise<void> {
  await tx.query('select pg_advisory_xact_lock($1)', [ROLLOUT_LOCK_KEY]);
}
