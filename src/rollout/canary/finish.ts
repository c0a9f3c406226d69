import type { Db, Queryable } from '../../db/types.ts';
import { OperatorError } from '../../lib/errors.ts';
import { lockRollout } from '../lock.ts';
import {
  type ProviderConfigState,
  putBackProviderState,
  readProviderState,
} from '../provider-state.ts';
import { type CanaryEvent, logDecision } from './events.ts';
import { applyRoutingChanges, type CanaryRun, selectActiveRun, updateRun } from './sql.ts';
import { promotionChanges } from './weights.ts';

export interface FinishedCanary {
  run: CanaryRun;
  before: ProviderConfigState[];
  after: ProviderConfigState[];
  event: CanaryEvent;
}

/**
 * `canary promote`: skips to the end of the environment's progressing or halted canary, in one
 * transaction under the rollout lock. The candidate becomes the enabled default at weight 100
 * with the environment's strategy from before the canary; the other text providers stay enabled
 * at weight 0 as fallbacks.
 */
export function promoteCanary(
  db: Db,
  input: { environment: string; operator: string },
): Promise<FinishedCanary> {
  return finish(db, input, async (tx, run) => {
    await applyRoutingChanges(tx, run.environment, promotionChanges(run.baseline, run.provider));
    return {
      state: 'promoted',
      action: 'canary_complete',
      reason: `promoted by ${input.operator} at ${run.steps[run.stepIndex]}% (step ${run.stepIndex + 1} of ${run.steps.length})`,
    };
  });
}

/**
 * `canary abort`: rolls the environment's progressing or halted canary back now, in one
 * transaction under the rollout lock: its rows are put back exactly as they were before the
 * canary started (every config column), and the rows replaced are kept in the log entry.
 */
export function abortCanary(
  db: Db,
  input: { environment: string; operator: string },
): Promise<FinishedCanary> {
  return finish(db, input, async (tx, run) => {
    await putBackProviderState(tx, [run.environment], run.baseline, { allColumns: true });
    return {
      state: 'aborted',
      action: 'canary_abort',
      reason: `aborted by ${input.operator} at ${run.steps[run.stepIndex]}% (step ${run.stepIndex + 1} of ${run.steps.length}); the configs are back as before the canary`,
    };
  });
}

async function finish(
  db: Db,
  input: { environment: string; operator: string },
  change: (
    tx: Queryable,
    run: CanaryRun,
  ) => Promise<{
    state: 'promoted' | 'aborted';
    action: 'canary_complete' | 'canary_abort';
    reason: string;
  }>,
): Promise<FinishedCanary> {
  const startedAt = new Date();
  return db.transaction(async (tx) => {
    await lockRollout(tx);
    const active = await selectActiveRun(tx, input.environment, { forUpdate: true });
    if (!active) {
      throw new OperatorError(
        `no canary is progressing or halted in ${input.environment}; genloop canary status --env ${input.environment} shows the last one. Nothing was changed.`,
      );
    }
    const before = await readProviderState(tx, [input.environment], { forUpdate: true });
    const { state, action, reason } = await change(tx, active);
    const run = await updateRun(tx, active.id, {
      state,
      // A promotion skips to the last step; an abort leaves the step it was taken at on record.
      stepIndex: state === 'promoted' ? active.steps.length - 1 : active.stepIndex,
      newStep: false,
      failedChecks: active.failedChecks,
      inconclusiveChecks: active.inconclusiveChecks,
      reason,
    });
    const after = await readProviderState(tx, [input.environment]);
    const event = await logDecision(tx, {
      action,
      run,
      reason,
      operator: input.operator,
      startedAt,
      replaced: before,
    });
    return { run, before, after, event };
  });
}
