import type { Queryable } from '../db/types.ts';
import type { JobResult } from './finish-job.ts';

/** An interior job as the webhook path, the poller and status refreshes see it. */
export interface PredictionJob {
  id: string;
  user_id: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'timed_out';
  /** Running under an unexpired lease: a live worker owns the job. */
  held: boolean;
  mode: string | null;
  input: Record<string, unknown>;
  model: string | null;
  prompt_version: string | null;
  request_id: string | null;
  provider_prediction_id: string | null;
  created_at: Date;
}

const JOB_COLUMNS = `id, user_id, status, (status = 'running' and lease_until > now()) as held, mode, input,
  model, prompt_version, request_id, provider_prediction_id, created_at`;

/** The user's pending or running jobs of a recipe (the in-flight pre-check; submitJob decides). */
export async function countInFlight(
  db: Queryable,
  userId: string,
  recipe: string,
): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `select count(*)::int as count from public.ai_generations
      where user_id = $1 and recipe = $2 and status in ('pending', 'running')`,
    [userId, recipe],
  );
  return rows[0]?.count ?? 0;
}

/**
 * Stores a provider's prediction id on the job in its own short transaction, right after the
 * create call returned, so that a crash before the job commits loses nothing: the rerun resumes
 * the prediction instead of paying for another. Only the claim that made the call (`attempts`)
 * may attach, and only once; false when the job moved on meanwhile (lease lost, canceled, timed
 * out).
 */
export async function attachPrediction(
  db: Queryable,
  input: { jobId: string; attempts: number; provider: string; predictionId: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update public.ai_generations
        set provider = $3, provider_prediction_id = $4
      where id = $1 and attempts = $2 and status = 'running' and provider_prediction_id is null`,
    [input.jobId, input.attempts, input.provider, input.predictionId],
  );
  return rowCount === 1;
}

/** The job that owns a provider prediction, if any. */
export async function findJobByPrediction(
  db: Queryable,
  provider: string,
  predictionId: string,
): Promise<PredictionJob | undefined> {
  const { rows } = await db.query<PredictionJob>(
    `select ${JOB_COLUMNS} from public.ai_generations
      where provider = $1 and provider_prediction_id = $2`,
    [provider, predictionId],
  );
  return rows[0];
}

/** Locks a job row for a completing transaction and reads its state. */
export async function lockJob(db: Queryable, jobId: string): Promise<PredictionJob | undefined> {
  const { rows } = await db.query<PredictionJob>(
    `select ${JOB_COLUMNS} from public.ai_generations where id = $1 for update`,
    [jobId],
  );
  return rows[0];
}

/**
 * Ends a job that no worker holds (webhook, poller, status refresh) — only from `from`, the
 * state the caller saw under its row lock, so two completers cannot both win and a finished
 * job never moves backwards. Returns whether this call ended it.
 */
export async function completeUnheldJob(
  db: Queryable,
  jobId: string,
  from: PredictionJob['status'],
  result: JobResult,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update public.ai_generations
        set status = $3,
            finished_at = now(),
            lease_until = null,
            locked_by = null,
            output = $4::jsonb,
            error = $5::jsonb,
            ai_metadata = ai_metadata || coalesce($6::jsonb, '{}'::jsonb),
            provider = coalesce($7, provider),
            request_id = coalesce($8::uuid, request_id)
      where id = $1 and status = $2
        and (status <> 'running' or lease_until is null or lease_until <= now())`,
    [
      jobId,
      from,
      result.status,
      result.output === undefined ? null : JSON.stringify(result.output),
      result.error === undefined ? null : JSON.stringify(result.error),
      result.aiMetadata === undefined ? null : JSON.stringify(result.aiMetadata),
      result.provider ?? null,
      result.requestId ?? null,
    ],
  );
  return rowCount === 1;
}

/**
 * Interior jobs that timed out while their prediction may still finish (within `withinMs` of
 * the timeout; Replicate deletes outputs after about an hour): the backup poller's work list.
 */
export async function selectTimedOutPredictions(
  db: Queryable,
  input: { withinMs: number; limit: number },
): Promise<{ id: string; provider_prediction_id: string }[]> {
  const { rows } = await db.query<{ id: string; provider_prediction_id: string }>(
    `select id, provider_prediction_id from public.ai_generations
      where status = 'timed_out' and provider_prediction_id is not null and provider = 'replicate'
        and finished_at > now() - make_interval(secs => $1::double precision / 1000)
      order by finished_at desc
      limit $2`,
    [input.withinMs, input.limit],
  );
  return rows;
}

/** The status of one job (the handler checks it after an abort: canceled by the user?). */
export async function jobStatus(db: Queryable, jobId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>(
    'select status from public.ai_generations where id = $1',
    [jobId],
  );
  return rows[0]?.status;
}
