import type { Db } from '../../src/db/types.ts';

/** What the console phase wrote besides the telemetry rows, and how long it took. */
export interface ConsoleSeed {
  jobs: number;
  attempts: number;
  evalRuns: number;
  evalSamples: number;
  rolloutEntries: number;
  seedMs: number;
}

/** How far back jobs are written: the widest window the jobs page counts (7 d), and a day. */
const JOB_DAYS = 8;
/** How far back provider attempts are written: the providers page reads the last hour. */
const ATTEMPT_HOURS = 25;
const EVAL_RUNS = 400;
const SAMPLES_PER_RUN = 500;
const ROLLOUT_ENTRIES = 3000;
const ENVIRONMENTS = ['prod', 'staging', 'qa'];

/**
 * Fills the tables the console reads besides the telemetry, in proportion to the telemetry rows
 * already loaded: a job for every telemetry row of a recipe that runs as a job (flashcards and
 * interior) over the last 8 days, with a queue of pending and running jobs; the provider
 * attempts of every generation of the last 25 hours (two for one that fell back); 400 nightly
 * eval runs of 500 samples; 3 000 rollout log entries over three environments, each with
 * provider configs, and one provider cooling down. Only the recent part of jobs and attempts
 * is written because the console reads them by time window or by key: older rows would change
 * the size of the tables, not what the queries read. Earlier seeds are replaced.
 */
export async function seedConsoleTables(db: Db): Promise<ConsoleSeed> {
  const started = performance.now();
  await db.query(
    `truncate public.ai_generations, public.ai_provider_attempts, public.ai_eval_runs,
              public.ai_rollout_log, public.ai_provider_health cascade`,
  );
  await db.query(`delete from public.ai_provider_configs where environment <> 'prod'`);
  const jobs = await db.query(JOBS_SQL, [`${JOB_DAYS} days`]);
  const queue = await db.query(QUEUE_SQL);
  const attempts = await db.query(ATTEMPTS_SQL, [`${ATTEMPT_HOURS} hours`]);
  const evals = await db.transaction(async (tx) => {
    const runs = await tx.query<{ id: number }>(EVAL_RUNS_SQL, [EVAL_RUNS]);
    const samples = await tx.query(EVAL_SAMPLES_SQL, [
      runs.rows.map((row) => row.id),
      SAMPLES_PER_RUN,
    ]);
    return { runs: runs.rowCount, samples: samples.rowCount };
  });
  await db.query(PROVIDERS_SQL, [ENVIRONMENTS]);
  await db.query(COOLDOWN_SQL);
  const rollouts = await db.query(ROLLOUTS_SQL, [ENVIRONMENTS, ROLLOUT_ENTRIES]);
  for (const table of [
    'ai_generations',
    'ai_provider_attempts',
    'ai_eval_runs',
    'ai_eval_samples',
    'ai_rollout_log',
    'ai_provider_configs',
    'ai_provider_health',
  ]) {
    await db.query(`vacuum (analyze) public.${table}`);
  }
  return {
    jobs: jobs.rowCount + queue.rowCount,
    attempts: attempts.rowCount,
    evalRuns: evals.runs,
    evalSamples: evals.samples,
    rolloutEntries: rollouts.rowCount,
    seedMs: Math.round(performance.now() - started),
  };
}

// The job of a telemetry row ended as the row did (one failure in ten as a timeout), and was
// created when the generation started. Flashcard jobs carry their source text (1 000 characters
// at least, as the table requires).
const JOBS_SQL = `
insert into public.ai_generations (
  id, user_id, recipe, status, source_text, model, prompt_version, request_id, attempts, error,
  tokens_input, tokens_output, cost_usd, provider, run_after, started_at, finished_at,
  created_at, updated_at
)
select
  t.generation_id, t.user_id, t.recipe, j.status,
  case when t.recipe = 'flashcards' then rpad(t.prompt || '. ', 1200, 'Source notes. ') end,
  t.model, t.prompt_template_version, t.request_id,
  case when j.status = 'succeeded' then 1 else 3 end,
  case j.status
    when 'failed' then '{"code": "provider_failed", "message": "every provider failed"}'::jsonb
    when 'timed_out' then '{"code": "timed_out", "message": "the job ran out of time"}'::jsonb
  end,
  t.tokens_input, t.tokens_output, t.cost_usd, t.selected_provider,
  j.created_at, j.created_at, t.created_at, j.created_at, t.created_at
from public.ai_training_examples t,
     lateral (
       select case
                when t.status = 'failed' and random() < 0.1 then 'timed_out'
                when t.status = 'failed' then 'failed'
                else 'succeeded'
              end as status,
              t.created_at - coalesce(t.latency_ms, 0) * interval '1 millisecond' as created_at
     ) j
where t.generation_id is not null
  and t.recipe in ('flashcards', 'interior')
  and t.created_at >= now() - $1::interval`;

// A queue at work: 200 jobs waiting (the oldest for ten minutes), 40 running.
const QUEUE_SQL = `
insert into public.ai_generations (
  user_id, recipe, status, source_text, attempts, run_after, started_at, lease_until, locked_by,
  created_at
)
select
  md5('user-' || n)::uuid,
  case when n % 3 = 0 then 'interior' else 'flashcards' end,
  case when n <= 200 then 'pending' else 'running' end,
  case when n % 3 <> 0 then rpad('Flashcards: the causes of the French Revolution. ', 1200, 'Notes. ') end,
  case when n <= 200 then 0 else 1 end,
  now() - n * interval '3 seconds',
  case when n > 200 then now() - interval '5 seconds' end,
  case when n > 200 then now() + interval '1 minute' end,
  case when n > 200 then 'worker-bench' end,
  now() - n * interval '3 seconds'
from generate_series(1, 240) as n`;

// One attempt per generation (cache hits make none); a generation that fell back first failed
// on the other provider of its route.
const ATTEMPTS_SQL = `
insert into public.ai_provider_attempts (
  request_id, generation_id, attempt_no, provider, model, status, error_class, http_status,
  latency_ms, ttfb_ms, created_at, training_example_id
)
select t.request_id, t.generation_id, 1,
       case when t.selected_provider = 'openai' then 'custom' else 'openai' end,
       null, 'failed', 'server_error', 503, 900, 850,
       t.created_at - coalesce(t.latency_ms, 0) * interval '1 millisecond', t.id
  from public.ai_training_examples t
 where t.source = 'generation' and t.fallback_used and t.created_at >= now() - $1::interval
union all
select t.request_id, t.generation_id, case when t.fallback_used then 2 else 1 end,
       t.selected_provider, t.model,
       case when t.status = 'failed' then 'timeout' else 'succeeded' end,
       case when t.status = 'failed' then 'timeout' end,
       case when t.status = 'failed' then null else 200 end,
       greatest(coalesce(t.latency_ms, 0) - case when t.fallback_used then 1000 else 0 end, 0),
       greatest(coalesce(t.latency_ms, 0) / 4, 0),
       t.created_at - greatest(coalesce(t.latency_ms, 0) - case when t.fallback_used then 1000 else 0 end, 0)
                      * interval '1 millisecond',
       t.id
  from public.ai_training_examples t
 where t.source = 'generation' and t.selected_provider is not null
   and t.created_at >= now() - $1::interval`;

// Nightly runs, the newest last night: one in twenty failed its gates, one in fifty aborted.
const EVAL_RUNS_SQL = `
insert into public.ai_eval_runs (
  run_type, schema_variant, triggered_by, git_sha, thresholds, status, started_at, finished_at,
  created_at
)
select 'nightly',
       (array['sitecraft', 'flashcards', 'interior', 'generic'])[1 + n % 4],
       'schedule', md5(n::text),
       '{"schema_valid_rate_min": 0.95, "fallback_rate_max": 0.1, "p95_latency_ms_max": 8000}'::jsonb,
       case when n % 50 = 7 then 'aborted' when n % 20 = 3 then 'failed' else 'passed' end,
       date_trunc('day', now()) - ($1 - n) * interval '1 day' + interval '2 hours',
       date_trunc('day', now()) - ($1 - n) * interval '1 day' + interval '2 hours 20 minutes',
       date_trunc('day', now()) - ($1 - n) * interval '1 day' + interval '2 hours'
  from generate_series(1, $1::int) as n
 order by n
returning id`;

const EVAL_SAMPLES_SQL = `
insert into public.ai_eval_samples (
  run_id, record_id, record_created_at, schema_valid, patch_apply_success, edit_after_generate,
  publish_conversion, safety_compliant, fallback_used, latency_ms, selected_provider,
  route_strategy
)
select r.id, 'record-' || s, now() - s * interval '1 minute',
       random() < case when r.id % 20 = 3 then 0.9 else 0.98 end,
       random() < 0.9, random() < 0.3, random() < 0.2, random() < 0.99, random() < 0.05,
       (exp(ln(1800) + 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::integer,
       (array['openai', 'custom', 'openrouter'])[1 + s % 3], 'fallback'
  from unnest($1::bigint[]) as r(id), generate_series(1, $2::int) as s`;

// Every environment gets the providers prod has; prod's openai is cooling down.
const PROVIDERS_SQL = `
insert into public.ai_provider_configs (
  provider, environment, enabled, is_default, weight, timeout_ms, max_retries, model,
  prompt_template_version, metadata
)
select c.provider, e.environment, c.enabled, c.is_default, c.weight, c.timeout_ms,
       c.max_retries, c.model, c.prompt_template_version, c.metadata
  from public.ai_provider_configs c, unnest($1::text[]) as e(environment)
 where c.environment = 'prod' and e.environment <> 'prod'`;

const COOLDOWN_SQL = `
insert into public.ai_provider_health (
  provider, environment, consecutive_failures, cooldown_until, last_error_class
)
values ('openai', 'prod', 5, now() + interval '30 seconds', 'server_error')`;

const ROLLOUTS_SQL = `
insert into public.ai_rollout_log (
  environment, action, operator, status, started_at, finished_at, notes, created_at
)
select ($1::text[])[1 + n % cardinality($1::text[])],
       (array['apply', 'verify', 'note', 'provider_update', 'rollback', 'restore'])[1 + n % 6],
       'operator-' || n % 7,
       case when n % 17 = 0 then 'failed' when n % 6 = 2 then 'info' else 'ok' end,
       now() - ($2 - n) * interval '15 minutes',
       now() - ($2 - n) * interval '15 minutes' + interval '40 seconds',
       'bench entry ' || n,
       now() - ($2 - n) * interval '15 minutes'
  from generate_series(1, $2::int) as n
 order by n`;
