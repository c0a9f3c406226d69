import { PG } from '../../db/errors.ts';
import type { Db } from '../../db/types.ts';
import { OperatorError } from '../../lib/errors.ts';
import { generateWebhookSecret } from '../../lib/webhook-secret.ts';
import { TEXT_PROVIDERS } from '../../providers/types.ts';
import { lockRollout } from '../lock.ts';
import { type ProviderConfigState, readProviderState } from '../provider-state.ts';
import { type CanaryEvent, logDecision } from './events.ts';
import type { CanarySettings } from './settings.ts';
import { applyRoutingChanges, type CanaryRun, insertRun, selectActiveRun } from './sql.ts';
import { firstTryShare, stepChanges } from './weights.ts';

export interface StartCanaryInput {
  environment: string;
  provider: string;
  settings: CanarySettings;
  operator: string;
  notifyUrl?: string | undefined;
}

export interface StartedCanary {
  run: CanaryRun;
  /** The environment's rows before (the run's baseline) and after the first step. */
  before: ProviderConfigState[];
  after: ProviderConfigState[];
  event: CanaryEvent;
}

/**
 * Starts a canary of `provider` in `environment`, in one transaction under the rollout lock:
 * saves the environment's rows as the run's baseline, gives the candidate the first step's
 * weight (the strategy becomes `weighted`), records the run and its `canary_start` log entry.
 * The controller inside `genloop serve` takes it from there. Refuses, changing nothing, when a
 * canary already owns the environment, the provider is unknown, disabled, not a text provider or
 * already gets every first try, or the environment has no text default to share traffic with.
 */
export async function startCanary(db: Db, input: StartCanaryInput): Promise<StartedCanary> {
  const startedAt = new Date();
  try {
    return await db.transaction(async (tx) => {
      await lockRollout(tx);
      const active = await selectActiveRun(tx, input.environment);
      if (active) throw alreadyRunning(active);
      const before = await readProviderState(tx, [input.environment], { forUpdate: true });
      checkCandidate(before, input.environment, input.provider);
      await applyRoutingChanges(
        tx,
        input.environment,
        stepChanges(before, input.provider, input.settings.steps[0]!),
      );
      const run = await insertRun(tx, {
        environment: input.environment,
        provider: input.provider,
        settings: input.settings,
        baseline: before,
        operator: input.operator,
        notifyUrl: input.notifyUrl ?? null,
        notifySecret: input.notifyUrl ? generateWebhookSecret() : null,
      });
      const after = await readProviderState(tx, [input.environment]);
      const event = await logDecision(tx, {
        action: 'canary_start',
        run,
        reason: `canary of ${input.provider} started at ${input.settings.steps[0]}% of first tries`,
        operator: input.operator,
        startedAt,
        replaced: before,
      });
      return { run, before, after, event };
    });
  } catch (error) {
    // Two starts racing past the check above: the one-per-environment index stops the second.
    if ((error as { code?: string }).code === PG.uniqueViolation) {
      throw new OperatorError(
        `a canary already runs in ${input.environment}; see genloop canary status --env ${input.environment}. Nothing was changed.`,
        { cause: error },
      );
    }
    throw error;
  }
}

function alreadyRunning(run: CanaryRun): OperatorError {
  return new OperatorError(
    `canary #${run.id} of ${run.provider} is already ${run.state} in ${run.environment}; watch it with genloop canary status --env ${run.environment}, or end it with genloop canary promote|abort --env ${run.environment}. Nothing was changed.`,
  );
}

/** Refuses a candidate the canary cannot move traffic to (see {@link startCanary}). */
function checkCandidate(
  rows: readonly ProviderConfigState[],
  environment: string,
  provider: string,
): void {
  const nothing = ' Nothing was changed.';
  if (rows.length === 0) {
    throw new OperatorError(
      `environment "${environment}" has no rows in ai_provider_configs; check --env (genloop rollout apply --env ${environment} creates them).${nothing}`,
    );
  }
  const row = rows.find((entry) => entry.provider === provider);
  if (!row) {
    throw new OperatorError(
      `provider "${provider}" is unknown in ${environment}; its providers are ${rows.map((entry) => entry.provider).join(', ')}.${nothing}`,
    );
  }
  if (!(TEXT_PROVIDERS as readonly string[]).includes(provider)) {
    throw new OperatorError(
      `${provider} does not serve text; a canary moves the routing of text generations (${TEXT_PROVIDERS.join(', ')}).${nothing}`,
    );
  }
  if (!row.enabled) {
    throw new OperatorError(
      `${provider} is disabled in ${environment}; enable it (weight 0) before its canary, so the canary starts from a state you chose.${nothing}`,
    );
  }
  const defaultRow = rows.find((entry) => entry.is_default);
  if (!defaultRow || !(TEXT_PROVIDERS as readonly string[]).includes(defaultRow.provider)) {
    throw new OperatorError(
      `${environment} has no default text provider, so routing has no strategy to share traffic under; set one (genloop rollout apply --env ${environment}).${nothing}`,
    );
  }
  if (firstTryShare(rows, provider) >= 1) {
    throw new OperatorError(
      `${provider} already gets every first try in ${environment}; there is nothing to canary.${nothing}`,
    );
  }
}
