import { TextArrayParam } from '../db/params.ts';
import type { Queryable } from '../db/types.ts';

export interface JobResult {
  status: 'succeeded' | 'failed';
  output?: unknown;
  error?: unknown;
  aiMetadata?: Record<string, unknown>;
  tokensInput?: number | null;
  tokensOutput?: number | null;
  costUsd?: number | null;
  provider?: string | null;
  requestId?: string | null;
}

/**
 * Moves a running job this worker holds to its terminal state. Returns false when the job is
 * no longer ours (lease lost, canceled, timed out): the caller must then roll back everything
 * else it wrote in the transaction, so a job's effects happen once.
 */
export async function finishJob(
  db: Queryable,
  jobId: string,
  workerId: string,
  result: JobResult,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update public.ai_generations
        set status = $3,
            finished_at = now(),
            updated_at = now(),
            lease_until = null,
            output = $4::jsonb,
            error = $5::jsonb,
            ai_metadata = ai_metadata || coalesce($6::jsonb, '{}'::jsonb),
            tokens_input = $7,
            tokens_output = $8,
            cost_usd = $9,
            provider = coalesce($10, provider),
            request_id = coalesce($11::uuid, request_id)
      where id = $1 and locked_by = $2 and status = 'running'`,
    [
      jobId,
      workerId,
      result.status,
      result.output === undefined ? null : JSON.stringify(result.output),
      result.error === undefined ? null : JSON.stringify(result.error),
      result.aiMetadata === undefined ? null : JSON.stringify(result.aiMetadata),
      result.tokensInput ?? null,
      result.tokensOutput ?? null,
      result.costUsd ?? null,
      result.provider ?? null,
      result.requestId ?? null,
    ],
  );
  return rowCount === 1;
}

/**
 * {@link finishJob} for many jobs in one statement (the worker completes jobs in groups).
 * Returns the ids that were still this worker's and are now terminal; the caller writes the
 * effects of those only. Rows are locked in id order, so concurrent group completions and
 * heartbeats never wait on each other in a cycle.
 */
export async function finishJobs(
  db: Queryable,
  workerId: string,
  jobs: readonly { id: string; result: JobResult }[],
): Promise<string[]> {
  if (jobs.length === 0) return [];
  const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
  const { rows } = await db.query<{ id: string }>(
    `with held as (
       select id from public.ai_generations
        where id = any($2::uuid[]) and locked_by = $1 and status = 'running'
        order by id
        for update
     )
     update public.ai_generations g
        set status = r.status,
            finished_at = now(),
            updated_at = now(),
            lease_until = null,
            output = r.output::jsonb,
            error = r.error::jsonb,
            ai_metadata = g.ai_metadata || coalesce(r.ai_metadata::jsonb, '{}'::jsonb),
            tokens_input = r.tokens_input,
            tokens_output = r.tokens_output,
            cost_usd = r.cost_usd,
            provider = coalesce(r.provider, g.provider),
            request_id = coalesce(r.request_id, g.request_id)
       from held,
            unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[],
                   $8::integer[], $9::numeric[], $10::text[], $11::uuid[])
              as r(id, status, output, error, ai_metadata, tokens_input, tokens_output, cost_usd,
                   provider, request_id)
      where g.id = held.id and r.id = held.id
     returning g.id`,
    [
      workerId,
      jobs.map((job) => job.id),
      new TextArrayParam(jobs.map((job) => job.result.status)),
      new TextArrayParam(jobs.map((job) => json(job.result.output))),
      new TextArrayParam(jobs.map((job) => json(job.result.error))),
      new TextArrayParam(jobs.map((job) => json(job.result.aiMetadata))),
      jobs.map((job) => job.result.tokensInput ?? null),
      jobs.map((job) => job.result.tokensOutput ?? null),
      jobs.map((job) => job.result.costUsd ?? null),
      jobs.map((job) => job.result.provider ?? null),
      jobs.map((job) => job.result.requestId ?? null),
    ],
  );
  return rows.map((row) => row.id);
}
