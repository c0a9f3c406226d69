import { OperatorError } from '../lib/errors.ts';

/** What `genloop rollout … --env` accepts: one database per environment, or one for both. */
export const ROLLOUT_TARGETS = ['staging', 'prod', 'single_db'] as const;

export type RolloutTarget = (typeof ROLLOUT_TARGETS)[number];

/**
 * The `ai_provider_configs.environment` values a target touches. single_db is the runbook
 * rollback's `where environment in ('staging', 'prod')`: one database holds both sets of rows.
 */
export function providerEnvironments(target: RolloutTarget): readonly string[] {
  return target === 'single_db' ? ['staging', 'prod'] : [target];
}

/** Checks an `--env` value; anything else is a one-line operator error (exit 1). */
export function parseRolloutTarget(value: unknown): RolloutTarget {
  if (value === undefined || value === null || value === '') {
    throw new OperatorError(
      `--env is required; use one of ${ROLLOUT_TARGETS.join(', ')} (single_db when one database serves staging and prod).`,
    );
  }
  if (!(ROLLOUT_TARGETS as readonly unknown[]).includes(value)) {
    throw new OperatorError(
      `--env "${String(value)}" is not a rollout target; use one of ${ROLLOUT_TARGETS.join(', ')}.`,
    );
  }
  return value as RolloutTarget;
}
