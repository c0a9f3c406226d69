import type { Db, Row } from '../db/types.ts';
import { OperatorError } from '../lib/errors.ts';
import { lockRollout } from './lock.ts';
import { writeLogEntry } from './log.ts';
import { type ProviderConfigState, readProviderState } from './provider-state.ts';
import { forEnvironments, P0_ROLLBACK, POST_ROLLBACK } from './runbook-queries.ts';
import { providerEnvironments, type RolloutTarget } from './targets.ts';

/** What a rollback saves in `ai_rollout_log.saved_state`, for `rollout restore`. */
export interface RollbackSavedState {
  environments: string[];
  rows: ProviderConfigState[];
}

export interface RollbackResult {
  logId: number;
  environments: readonly string[];
  /** The rows as they were, saved in the log entry. */
  before: ProviderConfigState[];
  /** The runbook's post-rollback verification query, run in the same transaction. */
  after: Row[];
}

export interface RollbackOptions {
  operator: string;
  notes?: string;
}

/** The runbook's P0 rollback statement for some environments (verbatim for single_db). */
export function rollbackStatement(environments: readonly string[]): string {
  return forEnvironments(P0_ROLLBACK, environments);
}

/**
 * The P0 rollback of the runbook in one transaction: openai becomes the only enabled provider,
 * the default, at weight 100; every other provider of the target's environments is disabled at
 * weight 0. The rows it replaces are saved in the `rollback` log entry, written in the same
 * transaction, so `restoreRollback` can put them back. Refuses (changing nothing) when an
 * environment has no openai row, since the rollback would leave it with no provider at all.
 *
 * @example
 * const { logId } = await rollbackProviders(db, 'prod', { operator: 'alice' });
 */
export async function rollbackProviders(
  db: Db,
  target: RolloutTarget,
  options: RollbackOptions,
): Promise<RollbackResult> {
  const environments = providerEnvironments(target);
  const startedAt = new Date();
  try {
    return await db.transaction(async (tx) => {
      await lockRollout(tx);
      const before = await readProviderState(tx, environments, { forUpdate: true });
      const withoutOpenai = environments.filter(
        (environment) =>
          !before.some((row) => row.environment === environment && row.provider === 'openai'),
      );
      if (withoutOpenai.length > 0) {
        throw new OperatorError(
          `no openai row in ${withoutOpenai.join(', ')}: the P0 rollback would leave no enabled provider there; run genloop rollout apply --env ${target} first. Nothing was changed.`,
        );
      }
      // The runbook's single UPDATE moves the default in one statement, which a row-by-row unique
      // check can refuse depending on visiting order; dropping the other defaults first keeps
      // every intermediate state valid under either form of the one-default rule.
      await tx.query(
        `update public.ai_provider_configs
            set is_default = false
          where environment = any($1::text[]) and is_default and provider <> 'openai'`,
        [environments],
      );
      // The runbook's statement writes updated_at as timezone('utc', now()), which is the present
      // only in a UTC session: with the transaction's zone set to UTC it is exact on any server.
      await tx.query(`set local time zone 'UTC'`);
      await tx.query(rollbackStatement(environments));
      const after = await tx.query(forEnvironments(POST_ROLLBACK, environments));
      const savedState: RollbackSavedState = { environments: [...environments], rows: before };
      const logId = await writeLogEntry(tx, {
        environment: target,
        action: 'rollback',
        operator: options.operator,
        status: 'ok',
        startedAt,
        finishedAt: new Date(),
        savedState,
        notes: options.notes ?? null,
      });
      return { logId, environments, before, after: after.rows };
    });
  } catch (error) {
    await recordFailure(db, target, 'rollback', options, startedAt, error);
    throw asOperatorError(error, `rollback of ${target}`);
  }
}

/** Keeps operator errors as they are; anything else becomes one line saying nothing changed. */
export function asOperatorError(error: unknown, what: string): OperatorError {
  if (error instanceof OperatorError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new OperatorError(`${what} failed and was rolled back, nothing changed: ${reason}`, {
    cause: error,
  });
}

/** Best effort: a failed rollback or restore leaves a `failed` entry when the log is writable. */
export async function recordFailure(
  db: Db,
  target: RolloutTarget,
  action: 'rollback' | 'restore',
  options: RollbackOptions,
  startedAt: Date,
  error: unknown,
): Promise<void> {
  const reason = error instanceof Error ? error.message : String(error);
  await writeLogEntry(db, {
    environment: target,
    action,
    operator: options.operator,
    status: 'failed',
    startedAt,
    finishedAt: new Date(),
    notes: `${action} failed and was rolled back: ${reason}`,
  }).catch(() => undefined);
}
