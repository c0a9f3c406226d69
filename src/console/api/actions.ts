import { DbError } from '../../db/errors.ts';
import type { Db, Row } from '../../db/types.ts';
import { DomainError, notFound } from '../../lib/domain-errors.ts';
import { writeLogEntry } from '../../rollout/log.ts';
import type { RolloutTarget } from '../../rollout/targets.ts';
import { type VerificationResult, verifyRollout } from '../../rollout/verify.ts';
import { finishReservation, reReserveRetried } from '../../sql/budgets.ts';
import { finalizeGeneration } from '../../sql/usage.ts';
import type { ProviderPatch } from '../contract.ts';
import {
  cancelJob as cancelJobRow,
  lockProviderConfigs,
  notifyJobs,
  type ProviderRow,
  requeueJob,
  reReserveRetriedJob,
  selectJob,
  updateProviderConfig,
} from './sql.ts';

/**
 * The console's changes. Each runs in one transaction and either happens whole or is refused
 * with a conflict that leaves everything as it was.
 */

/**
 * Puts a failed, timed-out or canceled job back in the queue and takes its quota unit again
 * (once: see {@link reReserveRetriedJob}); the new run then settles or refunds it like any run.
 * An operator's retry is not held to the user's quota: it redoes work already accepted.
 */
export function retryJob(db: Db, id: string): Promise<Row> {
  return db.transaction(async (tx) => {
    const job = await requeueJob(tx, id);
    if (!job)
      throw await jobConflict(
        tx,
        id,
        'not_retryable',
        'only a failed, timed-out or canceled job can be retried',
      );
    await reReserveRetriedJob(tx, id);
    await reReserveRetried(tx, id, new Date());
    await notifyJobs(tx, job.recipe);
    return job;
  });
}

/**
 * Cancels a pending or running job and gives its quota unit back, as a user's own cancel does
 * (the same ledger key, so the refund happens once whoever cancels). A worker still running it
 * loses the job when it tries to finish and writes nothing.
 */
export function cancelJob(db: Db, id: string): Promise<Row> {
  return db.transaction(async (tx) => {
    const job = await cancelJobRow(tx, id);
    if (!job)
      throw await jobConflict(
        tx,
        id,
        'not_cancelable',
        'only a pending or running job can be canceled',
      );
    await finalizeGeneration(tx, {
      userId: job.user_id,
      generationId: id,
      outcome: 'refund',
      reason: 'canceled',
    });
    await finishReservation(tx, { reservationId: id, outcome: 'refund', reason: 'canceled' });
    return job;
  });
}

/** 404 when the job does not exist, else the 409 saying which state it is in. */
async function jobConflict(
  tx: Parameters<typeof selectJob>[0],
  id: string,
  code: string,
  rule: string,
): Promise<DomainError> {
  const existing = await selectJob(tx, id);
  if (!existing) return notFound('job');
  return new DomainError('conflict', code, `the job is ${String(existing.status)}`, {
    detail: `${rule}; this one is ${String(existing.status)}`,
  });
}

/** The editable fields of a provider config, before and after an edit. */
type Editable = Pick<ProviderRow, 'weight' | 'enabled' | 'is_default'>;

/**
 * Edits a provider config's weight, enabled flag or default flag and writes the edit to the
 * rollout log with its operator and the values before and after, in one transaction. The rows
 * of the environment are locked first, so the rules below hold against concurrent edits:
 * one default per environment, a default is enabled, and an environment keeps at least one
 * enabled provider (without one, routing has nothing to serve and rollout verify fails). The
 * configs' trigger notifies every replica, whose routers reload.
 */
export function updateProvider(
  db: Db,
  input: { environment: string; provider: string; patch: ProviderPatch; operator: string },
): Promise<{ provider: ProviderRow; rolloutLogId: number }> {
  const { environment, provider, patch, operator } = input;
  return db.transaction(async (tx) => {
    const rows = await lockProviderConfigs(tx, environment);
    const current = rows.find((row) => row.provider === provider);
    if (!current) throw notFound(`provider config ${provider} in ${environment}`);
    const before: Editable = pick(current);
    const after: Editable = {
      weight: patch.weight ?? before.weight,
      enabled: patch.enabled ?? before.enabled,
      is_default: patch.is_default ?? before.is_default,
    };
    const others = rows.filter((row) => row.provider !== provider);
    const otherDefault = others.find((row) => row.is_default);
    if (after.is_default && otherDefault) {
      throw refusal(
        'default_already_set',
        `${otherDefault.provider} is already the default in ${environment}`,
        `an environment has one default provider; unset it on ${otherDefault.provider} first`,
      );
    }
    if (after.is_default && !after.enabled) {
      throw refusal(
        'default_must_be_enabled',
        'the default provider must be enabled',
        before.is_default
          ? `make another provider the default of ${environment} before disabling ${provider}`
          : `enable ${provider} to make it the default`,
      );
    }
    if (before.enabled && !after.enabled && !others.some((row) => row.enabled)) {
      throw refusal(
        'last_enabled_provider',
        `${provider} is the only enabled provider in ${environment}`,
        'enable another provider first; without one, nothing can serve generations',
      );
    }
    let updated: ProviderRow;
    try {
      updated = await updateProviderConfig(tx, {
        environment,
        provider,
        weight: after.weight,
        enabled: after.enabled,
        isDefault: after.is_default,
      });
    } catch (error) {
      // The checks above hold under the lock; a rule the database knows and they do not is
      // still a refusal of the edit, not a failure of the server.
      if (error instanceof DbError && ['23P01', '23514', '23505'].includes(error.code ?? '')) {
        throw refusal(
          'provider_rule_violated',
          'the edit breaks a rule of ai_provider_configs',
          error.message,
        );
      }
      throw error;
    }
    const changes = (Object.keys(after) as (keyof Editable)[])
      .filter((key) => after[key] !== before[key])
      .map((key) => `${key} ${before[key]} → ${after[key]}`);
    const rolloutLogId = await writeLogEntry(tx, {
      environment,
      action: 'provider_update',
      operator,
      status: 'ok',
      finishedAt: new Date(),
      savedState: { provider, before, after },
      notes: `${provider}: ${changes.length > 0 ? changes.join(', ') : 'no change'}`,
    });
    return { provider: updated, rolloutLogId };
  });
}

function pick({ weight, enabled, is_default }: Editable): Editable {
  return { weight, enabled, is_default };
}

function refusal(code: string, message: string, detail: string): DomainError {
  return new DomainError('conflict', code, message, { detail });
}

/**
 * Runs `genloop rollout verify` for a target and logs it as the command does (action verify,
 * ok or failed, the checks as its verification).
 */
export async function verifyEnvironment(
  db: Db,
  target: RolloutTarget,
  operator: string,
): Promise<VerificationResult & { rolloutLogId: number }> {
  const startedAt = new Date();
  const result = await verifyRollout(db, target);
  const rolloutLogId = await writeLogEntry(db, {
    environment: target,
    action: 'verify',
    operator,
    status: result.passed ? 'ok' : 'failed',
    startedAt,
    finishedAt: new Date(),
    verification: result,
  });
  return { ...result, rolloutLogId };
}
