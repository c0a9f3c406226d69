import type { Db } from '../db/types.ts';
import { OperatorError } from '../lib/errors.ts';
import { lockRollout } from './lock.ts';
import { writeLogEntry } from './log.ts';
import {
  type ProviderConfigState,
  putBackProviderState,
  readProviderState,
} from './provider-state.ts';
import {
  asOperatorError,
  type RollbackOptions,
  type RollbackSavedState,
  recordFailure,
} from './rollback.ts';
import type { RolloutTarget } from './targets.ts';

export interface RestoreResult {
  logId: number;
  /** The rollback entry whose saved rows were put back. */
  restoredFrom: number;
  environments: readonly string[];
  before: ProviderConfigState[];
  after: ProviderConfigState[];
}

/**
 * Undoes the latest rollback of a target that has not been restored yet: enabled, is_default and
 * weight go back to the values saved in its log entry (rows deleted since are re-created), in
 * one transaction. Defaults are cleared first and set last, so the one-default and
 * default-is-enabled rules hold after every statement. Restores stack: two rollbacks need two
 * restores.
 */
export async function restoreRollback(
  db: Db,
  target: RolloutTarget,
  options: RollbackOptions,
): Promise<RestoreResult> {
  const startedAt = new Date();
  try {
    return await db.transaction(async (tx) => {
      await lockRollout(tx);
      const { rows: pending } = await tx.query<{ id: number; saved_state: RollbackSavedState }>(
        `select l.id, l.saved_state
           from public.ai_rollout_log l
          where l.environment = $1
            and l.action = 'rollback'
            and l.status = 'ok'
            and l.saved_state is not null
            and not exists (
              select 1 from public.ai_rollout_log r
               where r.action = 'restore'
                 and r.status = 'ok'
                 and r.saved_state ->> 'restores_log_id' = l.id::text
            )
          order by l.id desc
          limit 1`,
        [target],
      );
      const entry = pending[0];
      if (!entry) {
        throw new OperatorError(
          `no rollback of ${target} is waiting to be restored; genloop rollout log --env ${target} lists what happened.`,
        );
      }
      const { environments, rows: saved } = entry.saved_state;
      const before = await readProviderState(tx, environments, { forUpdate: true });
      await putBackProviderState(tx, environments, saved);

      const after = await readProviderState(tx, environments);
      const logId = await writeLogEntry(tx, {
        environment: target,
        action: 'restore',
        operator: options.operator,
        status: 'ok',
        startedAt,
        finishedAt: new Date(),
        savedState: { restores_log_id: entry.id, rows: before },
        notes: options.notes ?? null,
      });
      return { logId, restoredFrom: entry.id, environments, before, after };
    });
  } catch (error) {
    // Nothing to restore is an answer, not a failed restore.
    if (!(error instanceof OperatorError)) {
      await recordFailure(db, target, 'restore', options, startedAt, error);
    }
    throw asOperatorError(error, `restore of ${target}`);
  }
}
