/**
 * Steady-state CPU per job of the jobs benchmark's throughput phase, measured from outside.
 *
 * Run it beside `npm run bench:jobs` (from this checkout or any other, an older commit's
 * included; it reads only what every version of the benchmark leaves on the machine):
 *
 *   npx tsx bench/jobs/steady.ts [--jobs 10000] [--runs 2] [--from 0.25] [--to 0.75]
 *                                [--poll-ms 250] [--database-url URL] [--output bench/results]
 *                                [--label NAME]
 *
 * then start the benchmark with the same `--jobs`. For each throughput database
 * (`genloop_bench_jobs_w<N>`) it reads the CPU time of the worker processes
 * (`genloop.js serve --role worker`) and of their Postgres backends when `--from` of the jobs
 * have finished and again at `--to`, and divides by the jobs finished in between. The benchmark's
 * own figure divides a whole run's CPU by its jobs, so it also holds what a worker process pays
 * once in its first seconds (its code compiled, its heap grown) and the thinner groups of the
 * last jobs; a worker in service runs for days, and this is the figure that decides how many
 * jobs per second it holds. Stops after `--runs` throughput phases (default 2: `--workers 1,2`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { DEFAULT_DATABASE_URL, databaseUrl, genloopBackendPids } from '../lib/database.ts';
import { positiveInteger } from '../lib/options.ts';
import { cpuSpentMs, cpuTimesMs } from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { round } from '../lib/stats.ts';

const PHASE = /^genloop_bench_jobs_w(\d+)$/;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '10000' },
      from: { type: 'string', default: '0.25' },
      to: { type: 'string', default: '0.75' },
      'poll-ms': { type: 'string', default: '250' },
      runs: { type: 'string', default: '2' },
      'database-url': { type: 'string' },
      output: { type: 'string', default: RESULTS_DIR },
      label: { type: 'string', default: '' },
    },
  });
  const from = Number(values.from);
  const to = Number(values.to);
  if (!(from >= 0 && from < to && to <= 1)) {
    throw new Error(`--from and --to take 0 ≤ from < to ≤ 1, got ${values.from} and ${values.to}`);
  }
  return {
    jobs: positiveInteger('jobs', values.jobs),
    from,
    to,
    pollMs: positiveInteger('poll-ms', values['poll-ms']),
    runs: positiveInteger('runs', values.runs),
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    output: values.output,
    label: values.label,
  };
}

type Options = ReturnType<typeof parseOptions>;

/** The pids of the benchmark's worker processes (any checkout's `genloop.js serve --role worker`). */
function workerPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const role = args.indexOf('--role');
    if (args.some((arg) => arg.endsWith('genloop.js')) && args.includes('serve')) {
      if (role !== -1 && args[role + 1] === 'worker') pids.push(Number(entry));
    }
  }
  return pids;
}

interface Reading {
  atMs: number;
  finished: number;
  workerMs: Map<number, number>;
  backendMs: Map<number, number>;
}

/**
 * Jobs no longer pending or running, or undefined while jobs are still being inserted. Both
 * counts read a partial index on status; the total, a sequential scan, is read only until every
 * job is in.
 */
async function finishedJobs(db: Db, jobs: number, phase: { inserted: boolean }) {
  if (!phase.inserted) {
    const { rows } = await db.query<{ total: string }>(
      'select count(*) as total from (select 1 from public.ai_generations limit $1) inserted',
      [jobs],
    );
    if (Number(rows[0]!.total) < jobs) return undefined;
    phase.inserted = true;
  }
  const { rows } = await db.query<{ pending: string; running: string }>(
    `select (select count(*) from public.ai_generations where status = 'pending') as pending,
            (select count(*) from public.ai_generations where status = 'running') as running`,
  );
  return jobs - Number(rows[0]!.pending) - Number(rows[0]!.running);
}

async function read(
  db: Db,
  admin: Db,
  database: string,
  jobs: number,
  phase: { inserted: boolean },
): Promise<Reading | undefined> {
  const finished = await finishedJobs(db, jobs, phase);
  if (finished === undefined) return undefined;
  const backends = await genloopBackendPids(admin, database);
  return {
    atMs: performance.now(),
    finished,
    workerMs: cpuTimesMs(workerPids()),
    backendMs: cpuTimesMs(backends),
  };
}

// Not `genloop…`: the benchmark counts the backends of every `genloop…` application in its
// database as the workers', and this script's own queries must stay out of both figures.
const APPLICATION = 'bench-steady';

async function measurePhase(options: Options, admin: Db, database: string, workers: number) {
  const db = createPgDb({
    connectionString: databaseUrl(options.serverUrl, database),
    max: 1,
    applicationName: APPLICATION,
  });
  try {
    let start: Reading | undefined;
    const phase = { inserted: false };
    for (;;) {
      // The benchmark drops the database when its phase ends: a phase that ends before the
      // window closes (a failed run, or --jobs not the benchmark's) is reported as such.
      const reading = await read(db, admin, database, options.jobs, phase).catch(
        () => 'gone' as const,
      );
      // A database dropped before all its jobs were in was a leftover of an earlier run.
      if (reading === 'gone') return phase.inserted ? 'ended' : 'leftover';
      if (reading && !start && reading.finished >= options.from * options.jobs) start = reading;
      if (reading && start && reading.finished >= options.to * options.jobs) {
        const jobs = reading.finished - start.finished;
        const workerMs = cpuSpentMs(start.workerMs, reading.workerMs) / jobs;
        const postgresMs = cpuSpentMs(start.backendMs, reading.backendMs) / jobs;
        return {
          workers,
          window: { from: start.finished, to: reading.finished, jobs },
          seconds: round((reading.atMs - start.atMs) / 1000, 2),
          jobsPerSecond: Math.round((jobs * 1000) / (reading.atMs - start.atMs)),
          workerCpuMsPerJob: round(workerMs, 3),
          postgresCpuMsPerJob: round(postgresMs, 3),
          cpuMsPerJob: round(workerMs + postgresMs, 3),
        };
      }
      await sleep(options.pollMs);
    }
  } finally {
    await db.close();
  }
}

async function main() {
  const options = parseOptions();
  const admin = createPgDb({
    connectionString: databaseUrl(options.serverUrl, 'postgres'),
    max: 1,
    applicationName: APPLICATION,
  });
  const speedAtStart = speedProbeMs();
  log(`waiting for the jobs benchmark's throughput phases (${options.jobs} jobs each)`);
  const results: Exclude<Awaited<ReturnType<typeof measurePhase>>, string>[] = [];
  const seen = new Set<number>();
  let phases = 0;
  try {
    while (phases < options.runs) {
      // By oid, not name: the benchmark drops a leftover of an earlier run and creates the
      // database again under the same name.
      const { rows } = await admin.query<{ oid: number; datname: string }>(
        `select oid, datname from pg_database where datname like 'genloop\\_bench\\_jobs\\_w%'`,
      );
      const found = rows.find((row) => PHASE.test(row.datname) && !seen.has(row.oid));
      if (!found) {
        await sleep(options.pollMs);
        continue;
      }
      seen.add(found.oid);
      const next = found.datname;
      const workers = Number(PHASE.exec(next)![1]);
      log(`${next}: measuring between ${options.from * 100}% and ${options.to * 100}% of the jobs`);
      const result = await measurePhase(options, admin, next, workers);
      if (result === 'leftover') continue;
      phases++;
      if (result === 'ended') {
        log(`  ${next} ended before ${options.to * 100}% of ${options.jobs} jobs had finished`);
        continue;
      }
      results.push(result);
      log(
        `  ${result.workerCpuMsPerJob} ms worker + ${result.postgresCpuMsPerJob} ms Postgres per job over ${result.window.jobs} jobs`,
      );
    }
  } finally {
    await admin.close();
  }
  const speedAtEnd = speedProbeMs();
  process.stdout.write(
    `${formatTable(
      results.map((r) => ({
        workers: r.workers,
        'jobs measured': `${r.window.from} to ${r.window.to}`,
        'jobs/s': r.jobsPerSecond,
        'worker ms/job': r.workerCpuMsPerJob,
        'Postgres ms/job': r.postgresCpuMsPerJob,
        'CPU ms/job': r.cpuMsPerJob,
      })),
    )}\n`,
  );
  const file = writeResult(
    options.output,
    `jobs-steady${options.label ? `-${options.label}` : ''}`,
    {
      benchmark: 'jobs-steady',
      createdAt: new Date().toISOString(),
      machine: { ...machineInfo(), speedProbeMs: { start: speedAtStart, end: speedAtEnd } },
      options,
      phases: results,
    },
  );
  log(`wrote ${file}`);
}

await main();
