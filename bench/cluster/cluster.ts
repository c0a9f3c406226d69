/**
 * A genloop cluster on one Postgres behind PgBouncer in transaction mode: N api and M worker
 * processes, careful clients that submit flashcard jobs and retry with their Idempotency-Key, and
 * (optionally) the faults a deployment meets: workers SIGKILLed every few seconds and replaced,
 * the pooler restarted, a Postgres backend terminated. `runCluster` returns what the clients saw
 * and what the database holds afterwards; the cluster test asserts on it, `bench/cluster`
 * reports it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { BenchDatabase } from '../lib/database.ts';
import {
  SOURCE_TEXT,
  simulatorProviderEnv,
  startGenloop,
  startSimulator,
  userTokens,
} from '../lib/genloop.ts';
import { type Pgbouncer, startPgbouncer } from '../lib/pgbouncer.ts';
import { type Child, stopAll } from '../lib/processes.ts';

export interface ChaosOptions {
  /** SIGKILL a random worker this often and start a replacement at once. */
  killWorkerEveryMs: number;
  /** Restart the pooler once, a third of the way through the submissions. */
  restartPooler: boolean;
  /** Terminate one of the database's backends, two thirds of the way through. */
  terminateBackend: boolean;
}

export interface ClusterOptions {
  /** A migrated, empty database; the cluster's processes reach it through the pooler. */
  database: BenchDatabase;
  apis: number;
  workers: number;
  jobs: number;
  /** Clients submitting at once (each submission retried by its own client until accepted). */
  clients: number;
  users: number;
  /** False: straight to Postgres, no pooler (the reference the pooler's cost is measured against). */
  pooler?: boolean;
  /** Start the workers only once every job is accepted, so their rate is measured alone. */
  workersAfterSubmit?: boolean;
  chaos?: ChaosOptions;
  /** Provider latency in the simulator (`genloop simulator --latency`), e.g. `uniform:10:19`. */
  providerLatency?: string;
  workerConcurrency?: number;
  poolSize?: number;
  /** The job lease; a killed worker's jobs are reclaimed once it expires. */
  leaseMs?: number;
  /** How long a client keeps retrying one submission. */
  retryForMs?: number;
  /** How long to wait for every accepted job to end. */
  finishWithinMs?: number;
  log?: (line: string) => void;
}

/** One client's submission, as the client saw it. */
interface Submission {
  key: string;
  user: number;
  outcome: 'accepted' | 'refused' | 'gave_up';
  generationId?: string;
  tries: number;
  /** HTTP statuses (or `network`) of the tries that did not end it. */
  retried: Record<string, number>;
  /** The body of one retried answer per status, to tell what the clients were told. */
  retriedBodies: Record<string, string>;
  refusal?: { status: number; body: string };
}

export interface ClusterResult {
  submissions: {
    total: number;
    accepted: number;
    refused: number;
    gaveUp: number;
    retriedTries: Record<string, number>;
    /** One answer body per retried status. */
    retriedBodies: Record<string, string>;
    /** Submissions whose client needed more than one try. */
    retriedSubmissions: number;
    /** Replays of accepted keys that answered a different job (must be 0). */
    replayMismatches: number;
    replays: number;
    refusals: Submission['refusal'][];
  };
  database: {
    jobs: number;
    succeeded: number;
    failed: number;
    unfinished: number;
    /** Idempotency keys with more than one job (must be 0). */
    duplicateKeys: number;
    /** Accepted submissions whose job id is not the job of its key (must be 0). */
    mismatchedJobs: number;
    /** Jobs with other than one telemetry row. */
    telemetryNotOne: number;
    /** Succeeded jobs without a whole set of suggestions (none, or gaps in positions). */
    suggestionSetsNotOne: number;
    /** Jobs with other than one final ledger entry (settle or refund). */
    ledgerFinalsNotOne: number;
    keysInProgress: number;
    /** Jobs claimed more than once (their worker died holding them). */
    reclaimed: number;
    errors: Record<string, number>;
  };
  jobsPerSecond: number;
  spanMs: number;
  submitPerSecond: number;
  events: { atMs: number; event: string }[];
  /** Processes that exited without being killed by the harness, with their last output. */
  unexpectedExits: string[];
}

export async function runCluster(options: ClusterOptions): Promise<ClusterResult> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const events: ClusterResult['events'] = [];
  const event = (text: string) => {
    events.push({ atMs: Date.now() - started, event: text });
    log(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
  };
  const { database } = options;
  const jwtSecret = randomBytes(32).toString('hex');
  const unexpectedExits: string[] = [];
  const killed = new WeakSet<Child>();
  let stopping = false;
  const watch = (child: Child) => {
    void child.exited.then((code) => {
      if (stopping || killed.has(child)) return;
      unexpectedExits.push(`${child.name} exited (${code}):\n${child.output().slice(-2_000)}`);
    });
    return child;
  };

  let pooler: Pgbouncer | undefined;
  try {
    if (options.pooler !== false) pooler = await startPgbouncer(database.url);
    if (!pooler && options.chaos?.restartPooler) throw new Error('no pooler to restart');
    const simulator = await startSimulator({ latency: options.providerLatency ?? '0' });
    const env = {
      ...(pooler
        ? { DATABASE_URL: pooler.url(database.url), DATABASE_DIRECT_URL: database.url }
        : { DATABASE_URL: database.url }),
      GENLOOP_JWT_SECRET: jwtSecret,
      ...simulatorProviderEnv(simulator.url),
      GENLOOP_RATE_LIMIT_FLASHCARDS: '1000000/1m',
      GENLOOP_MONTHLY_QUOTA: '10000000',
      GENLOOP_WORKER_CONCURRENCY: String(options.workerConcurrency ?? 16),
      GENLOOP_DB_POOL_SIZE: String(options.poolSize ?? 8),
      GENLOOP_JOB_LEASE_MS: String(options.leaseMs ?? 3_000),
    };
    let workerSerial = 0;
    const startWorker = async () =>
      watch((await startGenloop({ name: `worker-${++workerSerial}`, role: 'worker', env })).child);
    const apis = await Promise.all(
      Array.from({ length: options.apis }, (_, index) =>
        startGenloop({ name: `api-${index + 1}`, role: 'api', env }).then(({ child, url }) => {
          watch(child);
          return url;
        }),
      ),
    );
    const workers: Child[] = [];
    const startWorkers = async () => {
      workers.push(...(await Promise.all(Array.from({ length: options.workers }, startWorker))));
      event(`${options.workers} worker(s) up`);
    };
    if (!options.workersAfterSubmit) await startWorkers();
    const tokens = await userTokens(jwtSecret, options.users);
    event(`${options.apis} api process(es) up; submitting ${options.jobs} jobs`);

    // Faults, while the clients submit and the workers work.
    let accepted = 0;
    let chaosDone: Promise<void> = Promise.resolve();
    let chaosRunning = true;
    if (options.chaos) {
      const chaos = options.chaos;
      chaosDone = (async () => {
        let pooled = !chaos.restartPooler;
        let terminated = !chaos.terminateBackend;
        let lastKill = Date.now();
        while (chaosRunning) {
          await sleep(100);
          if (!pooled && accepted >= options.jobs / 3) {
            pooled = true;
            event('restarting the pooler');
            await pooler!.restart();
            event('pooler back');
          }
          if (!terminated && accepted >= (options.jobs * 2) / 3) {
            terminated = true;
            event(`terminated backend ${await terminateOneBackend(database)}`);
          }
          if (Date.now() - lastKill >= chaos.killWorkerEveryMs && workers.length > 0) {
            lastKill = Date.now();
            const index = Math.floor(Math.random() * workers.length);
            const victim = workers.splice(index, 1)[0]!;
            killed.add(victim);
            victim.process.kill('SIGKILL');
            await victim.exited;
            event(`SIGKILLed ${victim.name}`);
            try {
              workers.push(await startWorker());
            } catch (error) {
              // Starting can fail while the pooler restarts; the next tick starts another.
              event(`a replacement worker failed to start: ${String(error).split('\n')[0]}`);
            }
          }
          while (workers.length < options.workers && chaosRunning) {
            try {
              workers.push(await startWorker());
            } catch {
              await sleep(500);
            }
          }
        }
      })();
    }

    const submitStarted = Date.now();
    const body = JSON.stringify({ source_text: SOURCE_TEXT });
    const retryForMs = options.retryForMs ?? 30_000;
    const submissions: Submission[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: options.clients }, async (_, lane) => {
        for (let index = next++; index < options.jobs; index = next++) {
          const submission = await submitCarefully({
            apis,
            firstApi: (lane + index) % apis.length,
            token: tokens[index % tokens.length]!,
            user: index % tokens.length,
            body,
            deadline: Date.now() + retryForMs,
          });
          submissions.push(submission);
          if (submission.outcome === 'accepted') accepted++;
        }
      }),
    );
    const submitMs = Date.now() - submitStarted;
    event(`submissions done: ${accepted} accepted of ${options.jobs}`);
    if (options.workersAfterSubmit) await startWorkers();

    await waitUntilEnded(database, options.finishWithinMs ?? 120_000, log);
    chaosRunning = false;
    await chaosDone;
    event('every accepted job ended');

    // A client that retries after its job was accepted gets the same job back.
    let replayMismatches = 0;
    const replayed = submissions.filter((s) => s.outcome === 'accepted').slice(0, 20);
    for (const [index, submission] of replayed.entries()) {
      const response = await fetch(`${apis[index % apis.length]}/api/ai/generations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens[submission.user]}`,
          'content-type': 'application/json',
          'idempotency-key': submission.key,
        },
        body,
      });
      const json = (await response.json().catch(() => null)) as { generation_id?: string } | null;
      if (response.status !== 202 || json?.generation_id !== submission.generationId)
        replayMismatches++;
    }

    stopping = true;
    await stopAll();
    const facts = await databaseFacts(database, submissions);
    const retriedTries: Record<string, number> = {};
    const retriedBodies: Record<string, string> = {};
    for (const submission of submissions) {
      for (const [status, count] of Object.entries(submission.retried))
        retriedTries[status] = (retriedTries[status] ?? 0) + count;
      Object.assign(retriedBodies, submission.retriedBodies);
    }
    return {
      submissions: {
        total: submissions.length,
        accepted,
        refused: submissions.filter((s) => s.outcome === 'refused').length,
        gaveUp: submissions.filter((s) => s.outcome === 'gave_up').length,
        retriedTries,
        retriedBodies,
        retriedSubmissions: submissions.filter((s) => s.tries > 1).length,
        replays: replayed.length,
        replayMismatches,
        refusals: submissions.filter((s) => s.refusal).map((s) => s.refusal),
      },
      database: facts.database,
      jobsPerSecond: facts.jobsPerSecond,
      spanMs: facts.spanMs,
      submitPerSecond: Math.round(accepted / (submitMs / 1000)),
      events,
      unexpectedExits,
    };
  } finally {
    stopping = true;
    await stopAll();
    await pooler?.stop();
  }
}

/**
 * Submits one flashcard job the way a careful client does: the same Idempotency-Key on every
 * try, a retry (to the next api process, as a load balancer would send it) after a 5xx, a 409
 * (the first try still holds the key), a 429 or a dropped connection, with backoff, until
 * accepted or the deadline passes.
 */
async function submitCarefully(input: {
  apis: readonly string[];
  firstApi: number;
  token: string;
  user: number;
  body: string;
  deadline: number;
}): Promise<Submission> {
  const submission: Submission = {
    key: randomUUID(),
    user: input.user,
    outcome: 'gave_up',
    tries: 0,
    retried: {},
    retriedBodies: {},
  };
  let backoffMs = 50;
  for (;;) {
    const api = input.apis[(input.firstApi + submission.tries) % input.apis.length]!;
    submission.tries++;
    let retryAs: string;
    try {
      const response = await fetch(`${api}/api/ai/generations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${input.token}`,
          'content-type': 'application/json',
          'idempotency-key': submission.key,
        },
        body: input.body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      if (response.status === 202) {
        submission.outcome = 'accepted';
        submission.generationId = (JSON.parse(text) as { generation_id: string }).generation_id;
        return submission;
      }
      if (response.status !== 409 && response.status !== 429 && response.status < 500) {
        submission.outcome = 'refused';
        submission.refusal = { status: response.status, body: text.slice(0, 500) };
        return submission;
      }
      retryAs = String(response.status);
      submission.retriedBodies[retryAs] ??= text.slice(0, 500);
    } catch (error) {
      retryAs = 'network';
      submission.retriedBodies[retryAs] ??= String(error);
    }
    submission.retried[retryAs] = (submission.retried[retryAs] ?? 0) + 1;
    if (Date.now() > input.deadline) return submission;
    await sleep(backoffMs);
    backoffMs = Math.min(backoffMs * 2, 1_000);
  }
}

/** Terminates one client backend of the database (a busy one when there is one); returns its pid. */
async function terminateOneBackend(database: BenchDatabase): Promise<number | null> {
  const { rows } = await database.db.query<{ pid: number }>(
    `select pid from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()
        and backend_type = 'client backend' and application_name <> 'genloop-bench'
      order by (state <> 'idle') desc, random() limit 1`,
  );
  const pid = rows[0]?.pid ?? null;
  if (pid !== null) await database.db.query('select pg_terminate_backend($1)', [pid]);
  return pid;
}

/** Waits until no job is pending or running (or the time is up). */
async function waitUntilEnded(
  database: BenchDatabase,
  withinMs: number,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  let lastLog = Date.now();
  for (;;) {
    const { rows } = await database.db.query<{ open: number; ended: number }>(
      `select count(*) filter (where status in ('pending', 'running'))::int as open,
              count(*) filter (where status not in ('pending', 'running'))::int as ended
         from public.ai_generations`,
    );
    const { open, ended } = rows[0]!;
    if (open === 0) return;
    if (Date.now() > deadline) {
      log(`  gave up waiting: ${open} jobs still open`);
      return;
    }
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now();
      log(`  ${ended} ended, ${open} open`);
    }
    await sleep(100);
  }
}

/** What the database holds after the run, checked against what the clients were told. */
async function databaseFacts(database: BenchDatabase, submissions: readonly Submission[]) {
  const accepted = submissions.filter((s) => s.outcome === 'accepted');
  const { rows } = await database.db.query<
    ClusterResult['database'] & { span_ms: number | null; errors: Record<string, number> | null }
  >(
    `with told as (
       select * from unnest($1::text[], $2::uuid[]) as t(key, generation_id)
     ),
     jobs as (
       select g.*,
              (select count(*) from public.ai_training_examples t
                where t.request_id = coalesce(g.request_id, g.id)) as telemetry,
              (select count(*) from public.ai_suggestions s where s.generation_id = g.id) as cards,
              (select coalesce(max(s.position) - min(s.position) + 1, 0) from public.ai_suggestions s
                where s.generation_id = g.id) as positions,
              (select count(*) from public.usage_ledger l
                where l.generation_id = g.id and l.kind in ('settle', 'refund')) as finals
         from public.ai_generations g
     )
     select count(*)::int as jobs,
            count(*) filter (where status = 'succeeded')::int as succeeded,
            count(*) filter (where status in ('failed', 'canceled', 'timed_out'))::int as failed,
            count(*) filter (where status in ('pending', 'running'))::int as unfinished,
            (select count(*) from (select 1 from public.ai_generations
               where idempotency_key is not null
               group by user_id, idempotency_key having count(*) > 1) d)::int as "duplicateKeys",
            (select count(*) from told
               where not exists (select 1 from public.ai_generations g
                                  where g.id = told.generation_id and g.idempotency_key = told.key)
            )::int as "mismatchedJobs",
            count(*) filter (where telemetry <> 1)::int as "telemetryNotOne",
            count(*) filter (where status = 'succeeded' and (cards = 0 or cards <> positions))::int
              as "suggestionSetsNotOne",
            count(*) filter (where finals <> 1)::int as "ledgerFinalsNotOne",
            (select count(*) from public.idempotency_keys where status = 'in_progress')::int
              as "keysInProgress",
            count(*) filter (where attempts > 1)::int as reclaimed,
            (select jsonb_object_agg(code, n) from (
               select coalesce(error->>'code', error->>'class', 'unknown') as code, count(*) as n
                 from public.ai_generations where status <> 'succeeded' group by 1) e) as errors,
            (extract(epoch from max(finished_at) - min(started_at)) * 1000)::float8 as span_ms
       from jobs`,
    [accepted.map((s) => s.key), accepted.map((s) => s.generationId!)],
  );
  const { span_ms: spanMs, errors, ...facts } = rows[0]!;
  return {
    database: { ...facts, errors: errors ?? {} },
    spanMs: Math.round(spanMs ?? 0),
    jobsPerSecond: spanMs ? Math.round(facts.succeeded / (spanMs / 1000)) : 0,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
