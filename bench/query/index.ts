/**
 * Query benchmark: fills ai_training_examples on real Postgres with 1M and 10M
 * realistic rows and times the dashboard queries, raw and through the rollups, then every GET
 * endpoint of the operator console's admin API (console.ts) against its 100 ms target.
 *
 *   npx tsx bench/query/index.ts [--rows 1000000,10000000] [--database-url URL] [--runs 21]
 *                                [--jobs 2] [--keep] [--reuse] [--output bench/results]
 *
 * It works in a database of its own (genloop_bench_query) on the server of --database-url
 * (default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres) and drops it at the
 * end unless --keep. With --reuse and one size, a database kept by an earlier --keep run that
 * holds exactly that many rows is measured again without refilling (fill times are then 0), so
 * figures can be re-taken on a quiet machine. Prints a table and writes bench/results/query-<date>.json. Times are
 * reported, never asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { migrate } from '../../src/db/migrator.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { benchConsole, type ConsoleBench } from './console.ts';
import { type ConsoleSeed, seedConsoleTables } from './console-seed.ts';
import { type FillTimings, fillTrainingExamples } from './fill.ts';
import { explainPlan, type PlanSummary, type Timing, timeQuery } from './measure.ts';
import { type BenchQuery, QUERIES, targetFor } from './queries.ts';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

interface QueryResult extends Timing, PlanSummary {
  name: string;
  description: string;
  reads: BenchQuery['reads'];
  targetMs: number | null;
  targetBy: string | null;
  meetsTarget: boolean | null;
}

interface SizeResult {
  rows: number;
  fill: FillTimings & { rowsPerSecond: number };
  dataset: Record<string, unknown>;
  telemetryVerification: Record<string, unknown>;
  accuracy: Accuracy;
  queries: QueryResult[];
  console: ConsoleBench & { seed: ConsoleSeed };
}

interface Accuracy {
  /** Counts and fallback rates of the rollup functions equal the raw aggregates. */
  countsMatch: boolean;
  /** Largest |rollup p95 - percentile_cont p95| / percentile_cont p95, per provider (30 d). */
  maxP95RelativeError30d: number;
  /** The same per provider per hour (24 h). */
  maxP95RelativeErrorHourly: number;
  /** The bound the histogram guarantees. */
  bound: number;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000,10000000' },
      'database-url': { type: 'string' },
      database: { type: 'string', default: 'genloop_bench_query' },
      runs: { type: 'string', default: '21' },
      jobs: { type: 'string', default: '2' },
      'budget-ms': { type: 'string', default: '30000' },
      keep: { type: 'boolean', default: false },
      reuse: { type: 'boolean', default: false },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  const sizes = values.rows.split(',').map((value) => Number(value.replaceAll('_', '')));
  if (sizes.some((size) => !Number.isInteger(size) || size <= 0)) {
    throw new Error(`--rows takes positive integers separated by commas, got "${values.rows}"`);
  }
  if (values.reuse && sizes.length !== 1) {
    throw new Error('--reuse measures one kept database: give exactly one --rows size');
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(values.database)) {
    throw new Error(`--database must be a lower-case identifier, got "${values.database}"`);
  }
  return {
    sizes,
    url: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_URL,
    database: values.database,
    runs: Number(values.runs),
    jobs: Number(values.jobs),
    budgetMs: Number(values['budget-ms']),
    keep: values.keep,
    reuse: values.reuse,
    output: values.output,
  };
}

function databaseUrl(url: string, database: string, settings: Record<string, string> = {}): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  const options = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`);
  if (options.length > 0) {
    const existing = parsed.searchParams.get('options');
    parsed.searchParams.set('options', [existing, ...options].filter(Boolean).join(' '));
  }
  return parsed.toString();
}

const log = (message: string) => process.stderr.write(`${message}\n`);

async function main(): Promise<void> {
  const options = parseOptions();
  const admin = createPgDb({
    connectionString: databaseUrl(options.url, 'postgres'),
    max: 1,
    applicationName: 'genloop-bench',
  });
  const kept = await admin.query('select 1 from pg_database where datname = $1', [
    options.database,
  ]);
  const reuse = options.reuse && kept.rows.length > 0;
  if (!reuse) {
    await admin.query(`drop database if exists "${options.database}" with (force)`);
    await admin.query(`create database "${options.database}"`);
  }
  // Queries are timed on one connection with the server's settings; the load gets its own pool
  // with room for the rollup trigger to aggregate a chunk in memory and for the index builds.
  const db = createPgDb({
    connectionString: databaseUrl(options.url, options.database),
    max: 1,
    applicationName: 'genloop-bench',
  });
  const loader = createPgDb({
    connectionString: databaseUrl(options.url, options.database, {
      work_mem: '64MB',
      maintenance_work_mem: '1GB',
    }),
    max: options.jobs,
    applicationName: 'genloop-bench-load',
  });
  // The console's app queries through a pool of the size `genloop serve` opens by default, as
  // the overview runs its queries side by side.
  const appDb = createPgDb({
    connectionString: databaseUrl(options.url, options.database),
    max: 10,
    applicationName: 'genloop-bench-console',
  });
  try {
    await migrate(db);
    const server = await serverInfo(db);
    log(
      `bench:query on ${server.version} (${os.cpus().length} cpus), database ${options.database}`,
    );
    const results: SizeResult[] = [];
    for (const rows of options.sizes) {
      results.push(await benchSize(db, loader, appDb, rows, { ...options, reuse }));
    }

    const table = results.flatMap((size) =>
      size.queries.map((query) => ({
        rows: size.rows.toLocaleString('en-US'),
        query: query.name,
        reads: query.reads,
        p50_ms: query.p50Ms,
        p95_ms: query.p95Ms,
        runs: query.runsMs.length,
        target: query.targetMs === null ? '' : `<= ${query.targetMs} ms (${query.targetBy})`,
        meets: query.meetsTarget === null ? '' : query.meetsTarget ? 'yes' : 'NO',
        plan: query.keyNode,
      })),
    );
    console.log(formatTable(table));
    console.log();
    console.log(
      formatTable(
        results.flatMap((size) =>
          size.console.endpoints.map((endpoint) => ({
            rows: size.rows.toLocaleString('en-US'),
            endpoint: endpoint.name,
            p50_ms: endpoint.p50Ms,
            p95_ms: endpoint.p95Ms,
            runs: endpoint.runsMs.length,
            target: `<= ${endpoint.targetMs} ms`,
            meets: endpoint.meetsTarget ? 'yes' : 'NO',
            full_page:
              endpoint.fill && endpoint.fill.requests > 1
                ? `${endpoint.fill.rows} rows, ${endpoint.fill.requests} req, ${endpoint.fill.ms} ms`
                : '',
            path: endpoint.path.length > 60 ? `${endpoint.path.slice(0, 57)}...` : endpoint.path,
          })),
        ),
      ),
    );
    console.log();
    console.log(
      formatTable(
        results.map((size) => ({
          rows: size.rows.toLocaleString('en-US'),
          fill_s: Math.round(size.fill.insertMs / 100) / 10,
          index_s: Math.round(size.fill.indexMs / 100) / 10,
          vacuum_s: Math.round(size.fill.vacuumMs / 100) / 10,
          rows_per_s: size.fill.rowsPerSecond,
          counts_match: size.accuracy.countsMatch,
          p95_err_30d: percentText(size.accuracy.maxP95RelativeError30d),
          p95_err_hourly: percentText(size.accuracy.maxP95RelativeErrorHourly),
          table_size: size.dataset.table_size,
        })),
      ),
    );

    mkdirSync(options.output, { recursive: true });
    const file = join(options.output, `query-${new Date().toISOString().slice(0, 10)}.json`);
    const report = {
      benchmark: 'query',
      createdAt: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadAverage: os.loadavg(),
      },
      server,
      options: {
        sizes: options.sizes,
        runs: options.runs,
        budgetMs: options.budgetMs,
        jobs: options.jobs,
      },
      queries: QUERIES.map(({ name, description, reads, sql, targets }) => ({
        name,
        description,
        reads,
        sql,
        targets,
      })),
      results,
    };
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    await appDb.close();
    await loader.close();
    await db.close();
    if (options.keep) {
      log(`kept database ${options.database}`);
    } else {
      await admin.query(`drop database if exists "${options.database}" with (force)`);
    }
    await admin.close();
  }
}

async function benchSize(
  db: Db,
  loader: Db,
  appDb: Db,
  rows: number,
  options: { runs: number; budgetMs: number; jobs: number; reuse: boolean },
): Promise<SizeResult> {
  if (!options.reuse) log(`[${rows.toLocaleString('en-US')} rows] filling`);
  const fill = options.reuse
    ? await reuseKept(db, rows)
    : await fillTrainingExamples(loader, rows, {
        jobs: options.jobs,
        onProgress: (done, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\r  ${done}/${total} rows`);
        },
      });
  if (process.stderr.isTTY) process.stderr.write('\n');
  log(
    `  insert ${(fill.insertMs / 1000).toFixed(1)} s, indexes ${(fill.indexMs / 1000).toFixed(1)} s, vacuum analyze ${(fill.vacuumMs / 1000).toFixed(1)} s`,
  );
  // The queries are timed first: describing the dataset scans and sorts the whole table, and its
  // temporary files and evicted pages would otherwise slow the timings that follow it.
  const queries: QueryResult[] = [];
  for (const query of QUERIES) {
    const timing = await timeQuery(db, query.sql, options);
    const plan = await explainPlan(db, query.sql);
    const target = targetFor(query, rows);
    queries.push({
      name: query.name,
      description: query.description,
      reads: query.reads,
      ...timing,
      ...plan,
      targetMs: target?.ms ?? null,
      targetBy: target?.by ?? null,
      meetsTarget: target ? timing.p95Ms <= target.ms : null,
    });
    log(`  ${query.name}: p50 ${timing.p50Ms} ms, p95 ${timing.p95Ms} ms (${plan.keyNode})`);
  }
  log('  seeding the console tables');
  const seed = await seedConsoleTables(db);
  const consoleBench = { seed, ...(await benchConsole(db, appDb, options)) };
  const dataset = await describeDataset(db);
  const telemetryVerification = (await db.query(QUERIES[0]!.sql)).rows[0]!;
  return {
    rows,
    fill: {
      ...fill,
      rowsPerSecond: fill.insertMs > 0 ? Math.round(rows / (fill.insertMs / 1000)) : 0,
    },
    dataset,
    telemetryVerification,
    accuracy: await checkAccuracy(db),
    queries,
    console: consoleBench,
  };
}

/** Checks that the kept database holds exactly `rows` rows; nothing is filled. */
async function reuseKept(db: Db, rows: number): Promise<FillTimings> {
  // The daily rollup holds exact counts (kept by triggers); counting the raw table instead
  // would read all of it right before the timings and slow the first ones.
  const { rows: counted } = await db.query<{ count: number }>(
    'select coalesce(sum(total_count), 0)::bigint as count from public.ai_training_examples_daily',
  );
  if (Number(counted[0]?.count) !== rows) {
    throw new Error(
      `--reuse: the kept database holds ${counted[0]?.count} rows, not ${rows}; run without --reuse`,
    );
  }
  log(`[${rows.toLocaleString('en-US')} rows] reusing the kept database`);
  return { insertMs: 0, indexMs: 0, vacuumMs: 0 };
}

async function describeDataset(db: Db): Promise<Record<string, unknown>> {
  const { rows } = await db.query(
    `select
       count(*) as rows,
       min(created_at) as first_created_at,
       max(created_at) as last_created_at,
       count(*) filter (where created_at >= now() - interval '24 hours') as rows_last_24h,
       round(avg(fallback_used::integer), 4) as fallback_share,
       round(avg((status = 'failed')::integer), 4) as failed_share,
       round(avg((source = 'generation_cached')::integer), 4) as cached_share,
       round(avg((selected_provider = 'openai')::integer), 4) as openai_share,
       round(avg((selected_provider = 'custom')::integer), 4) as custom_share,
       round(avg((selected_provider = 'openrouter')::integer), 4) as openrouter_share,
       percentile_disc(0.5) within group (order by latency_ms) as median_latency_ms,
       pg_size_pretty(pg_total_relation_size('public.ai_training_examples')) as table_size,
       pg_size_pretty(pg_indexes_size('public.ai_training_examples')) as indexes_size,
       pg_size_pretty(pg_total_relation_size('public.ai_training_examples_hourly')
                      + pg_total_relation_size('public.ai_training_examples_daily')) as rollups_size,
       (select count(*) from public.ai_training_examples_hourly) as hourly_rollup_rows,
       (select count(*) from public.ai_training_examples_daily) as daily_rollup_rows,
       (select sum(total_count) from public.ai_training_examples_daily) as daily_rollup_total
     from public.ai_training_examples`,
  );
  return rows[0]!;
}

interface StatsRow {
  bucket_start?: Date;
  selected_provider: string | null;
  total_count: number;
  fallback_rate: number;
  p95_latency_ms: number | null;
}

/** Compares the rollup functions with exact raw aggregates over the same hour buckets. */
async function checkAccuracy(db: Db): Promise<Accuracy> {
  const byName = (name: string) => QUERIES.find((query) => query.name === name)!.sql;
  const compare = async (rollupSql: string, rawSql: string) => {
    const [rollup, raw] = await Promise.all([
      db.query<StatsRow>(rollupSql),
      db.query<StatsRow>(rawSql),
    ]);
    const key = (row: StatsRow) => `${row.bucket_start?.getTime() ?? ''}/${row.selected_provider}`;
    const rawByKey = new Map(raw.rows.map((row) => [key(row), row]));
    let countsMatch = rollup.rows.length === raw.rows.length;
    let maxError = 0;
    for (const row of rollup.rows) {
      const exact = rawByKey.get(key(row));
      if (!exact) {
        countsMatch = false;
        continue;
      }
      if (exact.total_count !== row.total_count || exact.fallback_rate !== row.fallback_rate) {
        countsMatch = false;
      }
      if (exact.p95_latency_ms && row.p95_latency_ms !== null) {
        const error = Math.abs(row.p95_latency_ms - exact.p95_latency_ms) / exact.p95_latency_ms;
        maxError = Math.max(maxError, error);
      }
    }
    return { countsMatch, maxError };
  };
  const thirtyDays = await compare(byName('c_30d_rollup'), byName('c_30d_raw_exact'));
  const hourly = await compare(byName('b_hourly_rollup'), byName('b_hourly_raw_exact'));
  return {
    countsMatch: thirtyDays.countsMatch && hourly.countsMatch,
    maxP95RelativeError30d: Math.round(thirtyDays.maxError * 1e5) / 1e5,
    maxP95RelativeErrorHourly: Math.round(hourly.maxError * 1e5) / 1e5,
    bound: 0.05,
  };
}

async function serverInfo(db: Db): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; setting: string }>(
    `select 'version' as name, version() as setting
     union all
     select name, current_setting(name) from unnest(array[
       'shared_buffers', 'work_mem', 'effective_cache_size', 'max_parallel_workers_per_gather',
       'jit', 'random_page_cost'
     ]) as name`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
}

function percentText(value: number): string {
  return `${(value * 100).toFixed(2)}%`;
}

main().catch((error: unknown) => {
  log(`bench:query failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
