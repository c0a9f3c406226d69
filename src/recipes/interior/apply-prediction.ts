import { isTerminal, type Prediction } from '../../providers/replicate/prediction.ts';
import { chargeLateSuccess, finishReservation } from '../../sql/budgets.ts';
import {
  completeUnheldJob,
  findJobByPrediction,
  lockJob,
  type PredictionJob,
} from '../../sql/generation-jobs.ts';
import { debitLateSuccess, finalizeGeneration } from '../../sql/usage.ts';
import { recordWebhookEvent } from '../../sql/webhook-events.ts';
import { writeTelemetry } from '../../telemetry/writer.ts';
import { completionFromPrediction, parseInteriorJob, writeRender } from './completion.ts';
import type { InteriorDeps } from './deps.ts';
import { modelFor } from './handler.ts';

/**
 * What became of a prediction update:
 * - `unknown_prediction`: no job has this prediction id — nothing written;
 * - `not_terminal`: the prediction is still running — nothing written;
 * - `already_final`: the job ended before (a duplicate, or a late non-success) — nothing written;
 * - `duplicate`: this webhook-id was applied before — nothing written;
 * - `delegated`: a live worker holds the job; it was woken to finish it;
 * - `completed`: this call ended the job.
 */
export type ApplyResult =
  | 'unknown_prediction'
  | 'not_terminal'
  | 'already_final'
  | 'duplicate'
  | 'delegated'
  | 'completed';

const FINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Applies a prediction's state to its job, for the paths where no worker is waiting on it: the
 * webhook, the backup poller and a status refresh. States only move forward: a finished job is
 * never touched again, except that a late success completes a job that had timed out. A job a
 * live worker holds is left to that worker (woken through the signals). Otherwise the outputs
 * are stored first (outside any transaction), then one transaction — row locked, state checked
 * again, webhook-id recorded — ends the job with its render, its ledger entry and its telemetry.
 *
 * @example
 * const result = await applyPrediction(deps, prediction, { webhookId: 'msg_...' });
 */
export async function applyPrediction(
  deps: InteriorDeps,
  prediction: Prediction,
  options: { webhookId?: string } = {},
): Promise<ApplyResult> {
  const row = await findJobByPrediction(deps.db, 'replicate', prediction.id);
  if (!row) return 'unknown_prediction';
  if (isFinalFor(row, prediction)) return 'already_final';
  if (!isTerminal(prediction.status)) return 'not_terminal';
  if (row.held) {
    await deps.signals.notify(prediction.id);
    return 'delegated';
  }
  // Not an input the interior flow wrote: not a job this path can finish.
  const job = parseInteriorJob(row);
  if (!job) return 'unknown_prediction';
  const config = await deps.providerConfig();
  const model = config ? modelFor(job.input.fields.mode, config) : row.model;
  const completion = await completionFromPrediction(deps, job, prediction, {
    model,
    configPrices: config?.metadata.prices,
  });

  return deps.db
    .transaction(async (tx): Promise<ApplyResult> => {
      if (options.webhookId) {
        const first = await recordWebhookEvent(tx, {
          webhookId: options.webhookId,
          source: 'replicate',
          predictionId: prediction.id,
        });
        if (!first) throw new Outcome('duplicate');
      }
      const locked = await lockJob(tx, job.id);
      if (!locked || isFinalFor(locked, prediction)) throw new Outcome('already_final');
      if (locked.held) throw new Outcome('delegated');
      // A success that arrives after the timeout still completes the job; anything else late
      // leaves the timed-out job as it is (checked by isFinalFor above), and so does a late
      // success whose images could not be stored: the user was told "timed out" and refunded.
      if (locked.status === 'timed_out' && completion.result.status !== 'succeeded') {
        throw new Outcome('already_final');
      }
      const ended = await completeUnheldJob(tx, job.id, locked.status, completion.result);
      if (!ended) throw new Outcome('already_final');
      if (completion.result.status === 'succeeded') await writeRender(tx, job, completion);
      const spent = completion.spentUsd;
      if (locked.status === 'timed_out') {
        await debitLateSuccess(tx, { userId: job.user_id, generationId: job.id });
        await chargeLateSuccess(tx, {
          reservationId: job.id,
          costUsd: spent === 'nothing' ? 0 : spent,
        });
      } else {
        await finishReservation(
          tx,
          spent === 'nothing'
            ? { reservationId: job.id, outcome: 'refund', reason: completion.result.status }
            : {
                reservationId: job.id,
                outcome: 'settle',
                costUsd: spent,
                reason: completion.result.status,
              },
        );
        await finalizeGeneration(tx, {
          userId: job.user_id,
          generationId: job.id,
          outcome: completion.result.status === 'succeeded' ? 'settle' : 'refund',
          reason: completion.result.status,
        });
      }
      await writeTelemetry(tx, [completion.telemetry]);
      return 'completed';
    })
    .catch(async (error: unknown) => {
      if (!(error instanceof Outcome)) throw error;
      if (error.result === 'delegated') await deps.signals.notify(prediction.id);
      return error.result;
    });
}

/** Whether the job is past the point where this prediction state could change it. */
function isFinalFor(job: PredictionJob, prediction: Prediction): boolean {
  if (FINAL.has(job.status)) return true;
  return job.status === 'timed_out' && prediction.status !== 'succeeded';
}

/** Ends the transaction without writing (rolled back) and names why. */
class Outcome extends Error {
  constructor(readonly result: ApplyResult) {
    super(result);
  }
}
