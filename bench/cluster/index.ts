/**
 * Cluster benchmark, on real Postgres behind Debian's PgBouncer in transaction mode (the script
 * starts and stops it):
 *   (a) throughput: flashcard jobs submitted over HTTP by careful clients to the api processes,
 *       then run by 1, 2 and 4 worker processes, all through the pooler; jobs per second from the
 *       database's own clock (first start to last finish); then the same with the first worker
 *       count straight to Postgres, the reference for what the pooler costs;
 *   (b) faults: the same cluster while a worker is SIGKILLed every few seconds and replaced, the
 *       pooler is restarted and one Postgres backend is terminated; reports what the clients
 *       retried and checks that every submission was accepted once and every job ran once.
 *
 *   npm run bench:cluster -- [--jobs 3000] [--workers 1,2,4] [--apis 2] [--clients 64]
 *                            [--fault-jobs 2000] [--fault-workers 2] [--kill-every 3s]
 *                            [--latency uniform:20:38] [--concurrency 16] [--pool 8]
 *                            [--phases throughput,faults] [--database-url URL]
 *                            [--output bench/results]
 *
 * Each phase runs in a fresh database cloned from a migrated template; all are dropped at the end.
 * Prints a table and writes bench/results/cluster-<date>.json. Times are reported, never asserted.
 */
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { createBenchDatabase, DEFAULT_DATABASE_URL, serverInfo } from '../lib/database.ts';
import { positiveInteger } from '../lib/options.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { type ClusterOptions, type ClusterResult, runCluster } from './cluster.ts';

const TEMPLATE = 'genloop_bench_cluster_template';

function parseOptions() {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '3000' },
      workers: { type: 'string', default: '1,2,4' },
      apis: { type: 'string', default: '2' },
      clients: { type: 'string', default: '64' },
      users: { type: 'string', default: '200' },
      'fault-jobs': { type: 'string', default: '2000' },
      'fault-workers': { type: 'string', default: '2' },
      'kill-every': { type: 'string', default: '3s' },
      latency: { type: 'string', default: 'uniform:20:38' },
      concurrency: { type: 'string', default: '16' },
      pool: { type: 'string', default: '8' },
      phases: { type: 'string', default: 'throughput,faults' },
      'database-url': { type: 'string' },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  const positive = (name: keyof typeof values) => positiveInteger(name, values[name] as string);
  const killEvery = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(values['kill-every']!);
  if (!killEvery)
    throw new Error(`--kill-every takes e.g. 3s or 500ms, got "${values['kill-every']}"`);
  const workers = values.workers!.split(',').map((count) => Number(count.trim()));
  if (workers.some((count) => !Number.isInteger(count) || count <= 0)) {
    throw new Error(`--workers takes positive integers, e.g. 1,2,4, got "${values.workers}"`);
  }
  return {
    jobs: positive('jobs'),
    workers,
    apis: positive('apis'),
    clients: positive('clients'),
    users: positive('users'),
    faultJobs: positive('fault-jobs'),
    faultWorkers: positive('fault-workers'),
    killEveryMs: Number(killEvery[1]) * (killEvery[2] === 's' ? 1000 : 1),
    latency: values.latency!,
    concurrency: positive('concurrency'),
    pool: positive('pool'),
    phases: new Set(values.phases!.split(',').map((phase) => phase.trim())),
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    output: values.output!,
  };
}

type Options = ReturnType<typeof parseOptions>;

async function phase(
  options: Options,
  name: string,
  cluster: Omit<ClusterOptions, 'database' | 'log'>,
): Promise<ClusterResult> {
  const database = await createBenchDatabase(options.serverUrl, `genloop_bench_cluster_${name}`, {
    template: TEMPLATE,
    migrate: false,
  });
  try {
    return await runCluster({ ...cluster, database, log });
  } finally {
    await database.drop();
  }
}

/** What went wrong, if anything: the checks the cluster test makes, as one line. */
function verdict(run: ClusterResult): string {
  const problems: string[] = [];
  const { submissions: s, database: d } = run;
  if (s.accepted !== s.total) problems.push(`${s.total - s.accepted} submissions not accepted`);
  if (s.replayMismatches > 0) problems.push(`${s.replayMismatches} replays answered another job`);
  if (d.jobs !== s.accepted) problems.push(`${d.jobs} jobs for ${s.accepted} acceptances`);
  if (d.succeeded !== d.jobs) problems.push(`${d.jobs - d.succeeded} jobs did not succeed`);
  for (const key of [
    'duplicateKeys',
    'mismatchedJobs',
    'telemetryNotOne',
    'suggestionSetsNotOne',
    'ledgerFinalsNotOne',
    'keysInProgress',
    'unfinished',
  ] as const) {
    if (d[key] > 0) problems.push(`${key} ${d[key]}`);
  }
  if (run.unexpectedExits.length > 0) problems.push(`${run.unexpectedExits.length} crashes`);
  return problems.length === 0 ? 'all checks hold' : problems.join('; ');
}

async function main(): Promise<void> {
  const speedAtStart = speedProbeMs();
  log(`speed probe ${speedAtStart} ms (lower is faster)`);
  const options = parseOptions();
  const template = await createBenchDatabase(options.serverUrl, TEMPLATE, { poolSize: 1 });
  const server = await serverInfo(template.db);
  await template.db.close();
  const common = {
    apis: options.apis,
    clients: options.clients,
    users: options.users,
    workerConcurrency: options.concurrency,
    poolSize: options.pool,
  };
  const throughput: (ClusterResult & { workers: number; pooler: boolean })[] = [];
  let faults: ClusterResult | undefined;
  try {
    if (options.phases.has('throughput')) {
      for (const workers of options.workers) {
        log(`(a) ${options.jobs} jobs, ${workers} worker(s) behind the pooler`);
        const run = await phase(options, `w${workers}`, {
          ...common,
          workers,
          jobs: options.jobs,
          workersAfterSubmit: true,
          providerLatency: '0',
        });
        throughput.push({ ...run, workers, pooler: true });
      }
      const workers = options.workers[0]!;
      log(`(a) ${options.jobs} jobs, ${workers} worker(s) straight to Postgres`);
      const direct = await phase(options, `w${workers}_direct`, {
        ...common,
        workers,
        jobs: options.jobs,
        workersAfterSubmit: true,
        providerLatency: '0',
        pooler: false,
      });
      throughput.push({ ...direct, workers, pooler: false });
    }
    if (options.phases.has('faults')) {
      log(
        `(b) ${options.faultJobs} jobs, ${options.faultWorkers} workers, a worker killed every ${options.killEveryMs} ms, pooler restart, backend terminated`,
      );
      faults = await phase(options, 'faults', {
        ...common,
        workers: options.faultWorkers,
        jobs: options.faultJobs,
        providerLatency: options.latency,
        leaseMs: 3_000,
        chaos: {
          killWorkerEveryMs: options.killEveryMs,
          restartPooler: true,
          terminateBackend: true,
        },
      });
    }
  } finally {
    await template.drop();
  }

  const table: Record<string, unknown>[] = [];
  const base = throughput[0];
  for (const run of throughput) {
    const processes = `${run.workers} worker process${run.workers > 1 ? 'es' : ''}`;
    table.push({
      measure: run.pooler ? `${processes} behind PgBouncer` : `${processes}, no pooler`,
      value: `${run.jobsPerSecond} jobs/s`,
      detail: `${run.database.succeeded}/${run.submissions.total} in ${(run.spanMs / 1000).toFixed(1)} s${base && run !== base ? `; ×${(run.jobsPerSecond / base.jobsPerSecond).toFixed(2)} of ${base.workers} behind the pooler` : ''}; HTTP submit ${run.submitPerSecond}/s via ${options.apis} api; ${verdict(run)}`,
    });
  }
  if (faults) {
    const kills = faults.events.filter((e) => e.event.startsWith('SIGKILLed')).length;
    table.push(
      {
        measure: `faults: ${options.faultWorkers} workers, kill every ${options.killEveryMs / 1000} s`,
        value: `${faults.jobsPerSecond} jobs/s`,
        detail: `${kills} workers killed, pooler restarted, 1 backend terminated; provider latency ${options.latency}; ${faults.database.reclaimed} jobs reclaimed`,
      },
      {
        measure: 'faults: what the clients saw',
        value: `${faults.submissions.accepted}/${faults.submissions.total} accepted`,
        detail: `${faults.submissions.retriedSubmissions} needed a retry (${Object.entries(
          faults.submissions.retriedTries,
        )
          .map(([status, count]) => `${status}: ${count}`)
          .join(
            ', ',
          )}); replays ${faults.submissions.replays}, mismatched ${faults.submissions.replayMismatches}`,
      },
      { measure: 'faults: checks', value: verdict(faults), detail: '' },
    );
  }
  console.log(formatTable(table));
  const speedAtEnd = speedProbeMs();
  log(`speed probe ${speedAtEnd} ms at the end (lower is faster)`);
  const file = writeResult(options.output, 'cluster', {
    benchmark: 'cluster',
    createdAt: new Date().toISOString(),
    machine: { ...machineInfo(), speedProbeMs: { start: speedAtStart, end: speedAtEnd } },
    postgres: server,
    options: { ...options, phases: [...options.phases], serverUrl: undefined },
    throughput,
    faults: faults ?? null,
  });
  log(`wrote ${file}`);
  if (faults && verdict(faults) !== 'all checks hold') process.exitCode = 2;
}

main().catch((error) => {
  process.stderr.write(
    `bench:cluster failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exitCode = 1;
});
