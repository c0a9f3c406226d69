/**
 * Jobs benchmark, on real Postgres:
 *   (a) jobs per second end to end — N flashcard jobs inserted as pending rows (with their quota
 *       reservations, as the API writes them) → `genloop serve --role worker` processes → the
 *       simulator at zero latency → `succeeded` with suggestions, telemetry and ledger — with 1
 *       and with 2 worker processes;
 *   (b) HTTP submit throughput of `POST /api/ai/generations` (many users, limits raised);
 *   (c) submit-to-running latency (ai_generations.started_at - created_at, both database
 *       timestamps) of jobs submitted over HTTP at a steady 100 per second, with the fallback
 *       poll at 5 s so that only NOTIFY can make it short.
 *
 *   npm run bench:jobs -- [--jobs 10000] [--workers 1,2] [--concurrency 256] [--pool 16]
 *                         [--submit-duration 10] [--latency-rate 100] [--latency-duration 20]
 *                         [--phases throughput,submit,latency] [--database-url URL]
 *                         [--output bench/results] [--profile DIR]
 *                         [--node-options=''] [--simulator in-process|separate]
 *                         [--template-sql FILE]
 *
 * Each phase gets a fresh database cloned from a migrated template; all are dropped at the end.
 * Prints a table and writes bench/results/jobs-<date>.json. Times are reported, never asserted.
 * The throughput phase's CPU per job covers the whole run; bench/jobs/steady.ts, run beside it,
 * measures the same without the workers' first seconds.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { newId } from '../../src/lib/uuid.ts';
import {
  type BenchDatabase,
  createBenchDatabase,
  DEFAULT_DATABASE_URL,
  genloopBackendPids,
  serverInfo,
} from '../lib/database.ts';
import {
  RECOMMENDED_NODE_OPTIONS,
  SOURCE_TEXT,
  simulatorProviderEnv,
  startGenloop,
  startSimulator,
  userTokens,
} from '../lib/genloop.ts';
import { type LoadResult, runLoad } from '../lib/load.ts';
import { positiveInteger } from '../lib/options.ts';
import {
  type Child,
  cpuSpentMs,
  cpuTimeMs,
  cpuTimesMs,
  profileFlags,
  stopAll,
} from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { round } from '../lib/stats.ts';

const JWT_SECRET = randomBytes(32).toString('hex');
const TEMPLATE = 'genloop_bench_jobs_template';

function parseOptions() {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '10000' },
      workers: { type: 'string', default: '1,2' },
      concurrency: { type: 'string', default: '256' },
      pool: { type: 'string', default: '16' },
      'batch-size': { type: 'string', default: '1000' },
      'submit-duration': { type: 'string', default: '10' },
      'submit-connections': { type: 'string', default: '32' },
      users: { type: 'string', default: '1000' },
      'latency-rate': { type: 'string', default: '100' },
      'latency-duration': { type: 'string', default: '20' },
      'poll-ms': { type: 'string', default: '5000' },
      phases: { type: 'string', default: 'throughput,submit,latency' },
      'database-url': { type: 'string' },
      output: { type: 'string', default: RESULTS_DIR },
      profile: { type: 'string' },
      // Node flags for the genloop processes; '' for Node's defaults.
      'node-options': { type: 'string', default: RECOMMENDED_NODE_OPTIONS },
      simulator: { type: 'string', default: 'in-process' },
      'template-sql': { type: 'string' },
    },
  });
  const positive = (name: string) =>
    positiveInteger(name, values[name as keyof typeof values] as string);
  if (values.simulator !== 'separate' && values.simulator !== 'in-process') {
    throw new Error(`--simulator takes separate or in-process, got "${values.simulator}"`);
  }
  return {
    simulator: values.simulator as 'separate' | 'in-process',
    jobs: positive('jobs'),
    workers: values.workers.split(',').map((count) => Number(count.trim())),
    concurrency: positive('concurrency'),
    pool: positive('pool'),
    batchSize: positive('batch-size'),
    submitDurationS: positive('submit-duration'),
    submitConnections: positive('submit-connections'),
    users: positive('users'),
    latencyRate: positive('latency-rate'),
    latencyDurationS: positive('latency-duration'),
    pollMs: positive('poll-ms'),
    phases: new Set(values.phases.split(',').map((phase) => phase.trim())),
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    output: values.output,
    profileDir: values.profile,
    /** Extra Node flags for the genloop processes, e.g. `--max-semi-space-size=32`. */
    nodeFlags: values['node-options'].split(/\s+/).filter((flag) => flag !== ''),
    /**
     * SQL run on the migrated template before any phase clones it: what a change of the schema
     * (an index, a constraint, a trigger, a column's storage) costs or saves the job path,
     * measured without writing a migration for it.
     */
    templateSql: values['template-sql'],
  };
}

type Options = ReturnType<typeof parseOptions>;

let simulatorUrl: string | undefined;

/**
 * Where the workers' provider calls go. `in-process` (default): every genloop process serves its
 * providers from a simulator inside itself, at zero latency, as `serve` does with
 * GENLOOP_SIMULATOR=on. `separate`: one `genloop simulator` process, called through the openai
 * provider with a key and base URL as a real API would be; its CPU is then reported on its own.
 */
function providerEnv(options: Options): Record<string, string> {
  if (options.simulator === 'in-process') return { GENLOOP_SIMULATOR: 'on' };
  if (!simulatorUrl) throw new Error('the simulator is not running');
  return simulatorProviderEnv(simulatorUrl);
}

/** Starts the separate simulator for one phase (the phase's `stopAll` ends it with the rest). */
async function startSimulatorProcess(): Promise<Child> {
  const { child, url } = await startSimulator();
  simulatorUrl = url;
  return child;
}

/** Starts `genloop serve` with the given role on `database`; resolves once it listens. */
function startBenchGenloop(
  name: string,
  database: BenchDatabase,
  role: 'api' | 'worker',
  options: Options,
  extraEnv: Record<string, string> = {},
): Promise<{ child: Child; url: string }> {
  return startGenloop({
    name,
    role,
    nodeFlags: [...profileFlags(options.profileDir), ...options.nodeFlags],
    env: {
      DATABASE_URL: database.url,
      GENLOOP_JWT_SECRET: JWT_SECRET,
      ...providerEnv(options),
      GENLOOP_WORKER_CONCURRENCY: String(options.concurrency),
      GENLOOP_DB_POOL_SIZE: String(options.pool),
      GENLOOP_RATE_LIMIT_FLASHCARDS: '1000000/1m',
      GENLOOP_MONTHLY_QUOTA: '10000000',
      ...extraEnv,
    },
  });
}

/**
 * Inserts pending flashcard jobs and their reservations in batches, as fast as Postgres takes
 * them, with ids minted as the API mints them (the job's id, its reservation's and, for a request
 * without an `x-request-id`, its request id).
 */
async function insertJobs(
  database: BenchDatabase,
  count: number,
  batchSize: number,
): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < count; done += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, count - done) }, () => newId());
    const requestIds = ids.map(() => newId());
    const userId = randomUUID();
    await database.db.transaction(async (tx) => {
      await tx.query(
        `insert into public.ai_generations (id, user_id, recipe, source_text, request_id)
         select id, $2, 'flashcards', $3, request_id
           from unnest($1::uuid[], $4::uuid[]) as job(id, request_id)`,
        [ids, userId, SOURCE_TEXT, requestIds],
      );
      await tx.query(
        `insert into public.usage_ledger (id, user_id, generation_id, kind, amount, idempotency_key)
         select entry_id, $2, id, 'reserve', -1, 'reserve:' || id
           from unnest($1::uuid[], $3::uuid[]) as job(id, entry_id)`,
        [ids, userId, ids.map(() => newId())],
      );
    });
  }
  return performance.now() - started;
}

interface Progress {
  succeeded: number;
  failed: number;
  other: number;
}

/** Waits until `count` jobs are terminal, or `timeoutMs` passes; returns the last counts. */
async function waitForJobs(
  database: BenchDatabase,
  count: number,
  timeoutMs: number,
): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = 0;
  for (;;) {
    const { rows } = await database.db.query<Progress>(
      `select count(*) filter (where status = 'succeeded')::int as succeeded,
              count(*) filter (where status in ('failed', 'canceled', 'timed_out'))::int as failed,
              count(*) filter (where status in ('pending', 'running'))::int as other
         from public.ai_generations`,
    );
    const progress = rows[0]!;
    if (progress.succeeded + progress.failed >= count) return progress;
    if (Date.now() > deadline) {
      log(`  gave up waiting: ${JSON.stringify(progress)}`);
      return progress;
    }
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now();
      log(`  ${progress.succeeded}/${count} succeeded`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the database says about the run: timing from its own clock, and that nothing was lost. */
async function jobFacts(database: BenchDatabase) {
  const { rows } = await database.db.query<{
    jobs: number;
    succeeded: number;
    first_created: Date;
    last_finished: Date;
    span_ms: number;
    without_suggestions: number;
    suggestions: number;
    telemetry_rows: number;
    final_ledger_entries: number;
    run_more_than_once: number;
  }>(
    `select count(*)::int as jobs,
            count(*) filter (where status = 'succeeded')::int as succeeded,
            min(created_at) as first_created,
            max(finished_at) as last_finished,
            (extract(epoch from max(finished_at) - min(created_at)) * 1000)::float8 as span_ms,
            count(*) filter (where status = 'succeeded' and not exists (
              select 1 from public.ai_suggestions s where s.generation_id = g.id))::int as without_suggestions,
            (select count(*) from public.ai_suggestions)::int as suggestions,
            (select count(*) from public.ai_training_examples where recipe = 'flashcards')::int as telemetry_rows,
            (select count(*) from public.usage_ledger where kind in ('settle', 'refund'))::int as final_ledger_entries,
            count(*) filter (where attempts > 1)::int as run_more_than_once
       from public.ai_generations g`,
  );
  return rows[0]!;
}

/** Percentiles of submit-to-running in ms, from the database's timestamps. */
async function claimLatency(database: BenchDatabase) {
  const { rows } = await database.db.query<{
    jobs: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    over_1s: number;
  }>(
    `with latency as (
       select extract(epoch from started_at - created_at) * 1000 as ms
         from public.ai_generations where started_at is not null)
     select count(*)::int as jobs,
            percentile_cont(0.5) within group (order by ms)::float8 as p50,
            percentile_cont(0.9) within group (order by ms)::float8 as p90,
            percentile_cont(0.99) within group (order by ms)::float8 as p99,
            max(ms)::float8 as max,
            count(*) filter (where ms > 1000)::int as over_1s
       from latency`,
  );
  const row = rows[0]!;
  return {
    jobs: row.jobs,
    p50Ms: round(row.p50),
    p90Ms: round(row.p90),
    p99Ms: round(row.p99),
    maxMs: round(row.max),
    over1s: row.over_1s,
  };
}

/**
 * CPU time (ms) used so far by the processes that do the work: the worker processes, and the
 * Postgres backends serving them (found by pid in pg_stat_activity; the server's shared
 * processes such as the WAL writer are not included). On a machine shared with other work,
 * CPU per job is steadier than jobs per second.
 */
async function cpuSnapshot(database: BenchDatabase, workers: readonly Child[], simulator?: Child) {
  const backends = cpuTimesMs(await genloopBackendPids(database.db, database.name));
  const worker = workers.reduce((sum, child) => sum + (cpuTimeMs(child.process.pid) ?? 0), 0);
  return { worker, backends, simulator: simulator ? (cpuTimeMs(simulator.process.pid) ?? 0) : 0 };
}

function cpuPerJob(
  before: Awaited<ReturnType<typeof cpuSnapshot>>,
  after: Awaited<ReturnType<typeof cpuSnapshot>>,
  jobs: number,
) {
  const postgres = cpuSpentMs(before.backends, after.backends);
  const workerMs = (after.worker - before.worker) / Math.max(1, jobs);
  const postgresMs = postgres / Math.max(1, jobs);
  return {
    workerCpuMsPerJob: round(workerMs, 3),
    postgresCpuMsPerJob: round(postgresMs, 3),
    /** The separate simulator process (the provider's side; 0 when it runs in-process). */
    simulatorCpuMsPerJob: round((after.simulator - before.simulator) / Math.max(1, jobs), 3),
    /** Jobs per second if the job path had every core of this machine to itself. */
    cpuBoundJobsPerSecond: Math.round((machineInfo().cpus * 1000) / (workerMs + postgresMs)),
  };
}

async function throughputPhase(options: Options, workers: number) {
  const database = await createBenchDatabase(options.serverUrl, `genloop_bench_jobs_w${workers}`, {
    template: TEMPLATE,
    migrate: false,
  });
  try {
    log(
      `(a) ${options.jobs} jobs, ${workers} worker process(es), concurrency ${options.concurrency} each`,
    );
    const simulator = options.simulator === 'separate' ? await startSimulatorProcess() : undefined;
    const children: Child[] = [];
    for (let index = 0; index < workers; index++) {
      children.push(
        (await startBenchGenloop(`worker-${index + 1}`, database, 'worker', options)).child,
      );
    }
    const loadBefore = machineInfo().loadAverage;
    const cpuBefore = await cpuSnapshot(database, children, simulator);
    const submitMs = await insertJobs(database, options.jobs, options.batchSize);
    log(`  inserted in ${Math.round(submitMs)} ms`);
    const progress = await waitForJobs(
      database,
      options.jobs,
      Math.max(120_000, options.jobs * 20),
    );
    const cpu = cpuPerJob(
      cpuBefore,
      await cpuSnapshot(database, children, simulator),
      options.jobs,
    );
    const loadAfter = machineInfo().loadAverage;
    await stopAll();
    const facts = await jobFacts(database);
    return {
      workers,
      concurrency: options.concurrency,
      submitMs: Math.round(submitMs),
      submitJobsPerSecond: Math.round(options.jobs / (submitMs / 1000)),
      completed: progress.succeeded + progress.failed,
      jobsPerSecond: Math.round(facts.succeeded / (facts.span_ms / 1000)),
      spanMs: Math.round(facts.span_ms),
      ...cpu,
      loadAverage: { before: loadBefore, after: loadAfter },
      ...facts,
    };
  } finally {
    await stopAll();
    await database.drop();
  }
}

/** Requests that cycle through the users' tokens, one user per request. */
function submitRequests(userTokens: readonly string[]) {
  let next = 0;
  const body = JSON.stringify({ source_text: SOURCE_TEXT });
  return [
    {
      method: 'POST',
      path: '/api/ai/generations',
      body,
      setupRequest: (request: { headers?: Record<string, string> }) => {
        const token = userTokens[next++ % userTokens.length]!;
        return {
          ...request,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        };
      },
    },
  ];
}

async function submitPhase(options: Options, userTokens: readonly string[]) {
  const database = await createBenchDatabase(options.serverUrl, 'genloop_bench_jobs_submit', {
    template: TEMPLATE,
    migrate: false,
  });
  try {
    log(
      `(b) HTTP submit, ${options.submitConnections} connections, ${userTokens.length} users, no worker`,
    );
    if (options.simulator === 'separate') await startSimulatorProcess();
    const api = await startBenchGenloop('api', database, 'api', options);
    // Warm-up (JIT, pool connections), then the measured run.
    await runLoad({
      url: api.url,
      requests: submitRequests(userTokens),
      durationS: 2,
      connections: 8,
    });
    const load = await runLoad({
      url: api.url,
      requests: submitRequests(userTokens),
      durationS: options.submitDurationS,
      connections: options.submitConnections,
    });
    await stopAll();
    const { rows } = await database.db.query<{ pending: number; reservations: number }>(
      `select (select count(*) from public.ai_generations where status = 'pending')::int as pending,
              (select count(*) from public.usage_ledger where kind = 'reserve')::int as reservations`,
    );
    return { ...summariseLoad(load), rows: rows[0]! };
  } finally {
    await stopAll();
    await database.drop();
  }
}

async function latencyPhase(options: Options, userTokens: readonly string[]) {
  const database = await createBenchDatabase(options.serverUrl, 'genloop_bench_jobs_latency', {
    template: TEMPLATE,
    migrate: false,
  });
  try {
    log(
      `(c) submit-to-running at ${options.latencyRate} jobs/s over HTTP, 1 worker, poll every ${options.pollMs} ms`,
    );
    if (options.simulator === 'separate') await startSimulatorProcess();
    const api = await startBenchGenloop('api', database, 'api', options);
    await startBenchGenloop('worker', database, 'worker', options, {
      GENLOOP_JOB_POLL_MS: String(options.pollMs),
    });
    const load = await runLoad({
      url: api.url,
      requests: submitRequests(userTokens),
      durationS: options.latencyDurationS,
      rate: options.latencyRate,
      // One request per lane per second: an arrival every 1000/rate ms.
      lanes: options.latencyRate,
    });
    await waitForJobs(database, load.ok, 60_000);
    await stopAll();
    return {
      rate: options.latencyRate,
      pollMs: options.pollMs,
      submit: summariseLoad(load),
      submitToRunning: await claimLatency(database),
    };
  } finally {
    await stopAll();
    await database.drop();
  }
}

function summariseLoad(load: LoadResult) {
  return {
    requestedRate: load.requestedRate,
    connections: load.connections,
    durationS: load.durationS,
    rps: load.achievedRps,
    accepted: load.ok,
    non2xx: load.non2xx,
    errors: load.errors + load.timeouts,
    statusCodes: load.statusCodes,
    latencyMs: load.latencyMs,
  };
}

async function main(): Promise<void> {
  const speedAtStart = speedProbeMs();
  log(`speed probe ${speedAtStart} ms (lower is faster)`);
  const options = parseOptions();
  // Read before anything is created, so that a wrong path leaves no database behind.
  const templateSql = options.templateSql ? readFileSync(options.templateSql, 'utf8') : undefined;
  const template = await createBenchDatabase(options.serverUrl, TEMPLATE, { poolSize: 1 });
  const server = await serverInfo(template.db);
  if (templateSql) {
    log(`template: running ${options.templateSql}`);
    await template.db.exec(templateSql).catch(async (error: unknown) => {
      await template.drop();
      throw error;
    });
  }
  await template.db.close();
  let throughput: Awaited<ReturnType<typeof throughputPhase>>[] = [];
  let submit: Awaited<ReturnType<typeof submitPhase>> | undefined;
  let latency: Awaited<ReturnType<typeof latencyPhase>> | undefined;
  try {
    const tokens = await userTokens(JWT_SECRET, options.users);
    if (options.phases.has('throughput')) {
      throughput = [];
      for (const workers of options.workers)
        throughput.push(await throughputPhase(options, workers));
    }
    if (options.phases.has('submit')) submit = await submitPhase(options, tokens);
    if (options.phases.has('latency')) latency = await latencyPhase(options, tokens);
  } finally {
    await stopAll();
    await template.drop();
  }

  const table: Record<string, unknown>[] = throughput.map((run) => ({
    measure: `end to end, ${run.workers} worker process${run.workers > 1 ? 'es' : ''} (SQL submit)`,
    value: `${run.jobsPerSecond} jobs/s`,
    detail: `${run.succeeded}/${run.jobs} succeeded in ${(run.spanMs / 1000).toFixed(1)} s; without suggestions ${run.without_suggestions}; telemetry ${run.telemetry_rows}; ledger finals ${run.final_ledger_entries}; retried ${run.run_more_than_once}`,
    target: '>= 1000 jobs/s',
  }));
  for (const run of throughput) {
    table.push({
      measure: `CPU per job, ${run.workers} worker process${run.workers > 1 ? 'es' : ''}`,
      value: `${round(run.workerCpuMsPerJob + run.postgresCpuMsPerJob, 2)} ms`,
      detail: `workers ${run.workerCpuMsPerJob} ms + Postgres backends ${run.postgresCpuMsPerJob} ms${options.simulator === 'separate' ? ` (simulator process ${run.simulatorCpuMsPerJob} ms)` : ''}; all ${machineInfo().cpus} cores to itself: ~${run.cpuBoundJobsPerSecond} jobs/s; load ${run.loadAverage.before[0]} → ${run.loadAverage.after[0]}`,
      target: '',
    });
  }
  for (const run of throughput) {
    table.push({
      measure: `SQL batch submit (${options.batchSize}/statement), ${run.workers} worker(s) running`,
      value: `${run.submitJobsPerSecond} jobs/s`,
      detail: `${run.jobs} jobs in ${run.submitMs} ms`,
      target: '',
    });
  }
  if (submit) {
    table.push({
      measure: `HTTP submit POST /api/ai/generations (${submit.connections} conns)`,
      value: `${submit.rps} req/s`,
      detail: `p50 ${submit.latencyMs.p50} ms, p99 ${submit.latencyMs.p99} ms; 202s ${submit.accepted}, non2xx ${submit.non2xx}, errors ${submit.errors}`,
      target: '',
    });
  }
  if (latency) {
    const claim = latency.submitToRunning;
    table.push(
      {
        measure: `submit-to-running p50 at ${latency.rate} jobs/s (poll ${latency.pollMs} ms)`,
        value: `${claim.p50Ms} ms`,
        detail: `${claim.jobs} jobs; p90 ${claim.p90Ms} ms; max ${claim.maxMs} ms; over 1 s: ${claim.over1s}`,
        target: '<= 10 ms',
      },
      {
        measure: `submit-to-running p99 at ${latency.rate} jobs/s`,
        value: `${claim.p99Ms} ms`,
        detail: `HTTP submit p50 ${latency.submit.latencyMs.p50} ms, p99 ${latency.submit.latencyMs.p99} ms at ${latency.submit.rps} req/s`,
        target: '',
      },
    );
  }
  console.log(formatTable(table));
  const speedAtEnd = speedProbeMs();
  log(`speed probe ${speedAtEnd} ms at the end (lower is faster)`);
  const file = writeResult(options.output, 'jobs', {
    benchmark: 'jobs',
    createdAt: new Date().toISOString(),
    machine: { ...machineInfo(), speedProbeMs: { start: speedAtStart, end: speedAtEnd } },
    postgres: server,
    options: { ...options, phases: [...options.phases], serverUrl: undefined },
    throughput,
    submit: submit ?? null,
    latency: latency ?? null,
  });
  log(`wrote ${file}`);
}

main().catch(async (error) => {
  process.stderr.write(
    `bench:jobs failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  await stopAll(2_000);
  process.exitCode = 1;
});
