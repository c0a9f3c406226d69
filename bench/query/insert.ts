/**
 * What a telemetry write costs with the indexes and rollup triggers of ai_training_examples:
 * preloads the table (bench:query's fill), then inserts batches of rows the way the telemetry
 * writer flushes them (insertTrainingExamples, one jsonb parameter per batch) from a few writers
 * at once, each on a connection of its own, and reports rows per second, the time of a batch and
 * the CPU time the writers' Postgres backends spent per 1 000 rows (read from /proc when Postgres
 * runs on this machine). CPU per row follows the work each index and rollup adds and moves
 * little with the load of other work on the machine, so it is the figure to compare between
 * schemas; rows per second is the one users feel. (WAL volume would be another, but Postgres 15
 * counts it for the whole server only, where other databases' writes mix in.)
 *
 *   npx tsx bench/query/insert.ts [--preload 1000000] [--batches 400] [--batch-size 100]
 *                                 [--writers 2] [--until 20260217140000] [--sql STATEMENTS]
 *                                 [--database-url URL] [--database genloop_bench_insert]
 *                                 [--output bench/results]
 *
 * `--until VERSION` migrates only up to that migration, so one tree measures the schema before
 * and after a change; `--sql` runs statements after migrating (a variant: an index dropped or
 * added) and is recorded with the result. Writes bench/results/insert-<date>.json. Times are reported, never asserted.
 */
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrator.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { insertTrainingExamples, type TrainingExampleRow } from '../../src/sql/insert-telemetry.ts';
import { createBenchDatabase, DEFAULT_DATABASE_URL } from '../lib/database.ts';
import { positiveInteger } from '../lib/options.ts';
import { machineInfo, RESULTS_DIR, writeResult } from '../lib/report.ts';
import { percentile, round } from '../lib/stats.ts';
import { fillTrainingExamples } from './fill.ts';

function parseOptions() {
  const { values } = parseArgs({
    options: {
      preload: { type: 'string', default: '1000000' },
      batches: { type: 'string', default: '400' },
      'batch-size': { type: 'string', default: '100' },
      writers: { type: 'string', default: '2' },
      until: { type: 'string' },
      sql: { type: 'string' },
      'database-url': { type: 'string' },
      database: { type: 'string', default: 'genloop_bench_insert' },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  if (values.until !== undefined && !/^\d{14}$/.test(values.until)) {
    throw new Error(`--until takes a 14-digit migration version, got "${values.until}"`);
  }
  return {
    preload: positiveInteger('preload', values.preload),
    batches: positiveInteger('batches', values.batches),
    batchSize: positiveInteger('batch-size', values['batch-size']),
    writers: positiveInteger('writers', values.writers),
    until: values.until,
    sql: values.sql,
    url: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    database: values.database,
    output: values.output,
  };
}

/** A copy of the migrations up to `until`, or the migrations folder itself. */
function migrationsUpTo(until: string | undefined): { dir: string; cleanup(): void } {
  if (until === undefined) return { dir: MIGRATIONS_DIR, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'genloop-migrations-'));
  for (const file of readdirSync(MIGRATIONS_DIR)) {
    if (file.endsWith('.sql') && file.slice(0, 14) <= until) {
      cpSync(join(MIGRATIONS_DIR, file), join(dir, file));
    }
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

/** The user ids the fill draws from (skewed the same way), so live writes meet existing users. */
function userId(): string {
  const u = Math.random();
  const hex = createHash('md5')
    .update(`user-${Math.floor(u * u * 50_000)}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A live generation as the gateway records one: mostly openai, a few cache hits and fallbacks. */
function liveRow(): TrainingExampleRow {
  const cached = Math.random() < 0.12;
  const roll = Math.random();
  const provider = roll < 0.7 ? 'openai' : roll < 0.9 ? 'custom' : 'openrouter';
  const fellBack = !cached && Math.random() < 0.05;
  const failed = !cached && Math.random() < 0.02;
  return {
    id: randomUUID(),
    user_id: userId(),
    source: cached ? 'generation_cached' : 'generation',
    recipe: pick(['site', 'site', 'flashcards', 'interior', 'gateway'] as const),
    generation_id: null,
    status: failed ? 'failed' : 'succeeded',
    prompt: 'A landing page for a neighbourhood bakery with online pre-orders',
    input: null,
    output: failed ? null : { content: 'x'.repeat(400) },
    model: 'gpt-4o-mini',
    request_id: randomUUID(),
    requested_provider: null,
    selected_provider: provider,
    route_strategy: pick(['single_provider', 'weighted', 'fallback'] as const),
    fallback_provider: fellBack ? 'custom' : null,
    fallback_used: fellBack,
    latency_ms: cached ? 12 : Math.round(800 + Math.random() * 3000),
    prompt_template_version: 'site-v2',
    planned_provider: cached ? null : provider,
    environment: Math.random() < 0.9 ? 'prod' : 'staging',
    error: null,
    tokens_input: 300 + Math.floor(Math.random() * 2200),
    tokens_output: failed ? null : 200 + Math.floor(Math.random() * 3000),
    cost_usd: cached || failed ? 0 : round(Math.random() * 0.003, 6),
    schema_valid: null,
    patch_apply_success: null,
    safety_compliant: null,
    created_at: new Date().toISOString(),
  };
}

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used, in ms; undefined where /proc cannot tell. */
function cpuMs(pid: number): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return undefined;
  // The command name may hold spaces; the fields after its closing parenthesis do not.
  const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function backendPid(db: Db): Promise<number> {
  const { rows } = await db.query<{ pid: number }>('select pg_backend_pid() as pid');
  return rows[0]!.pid;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const migrations = migrationsUpTo(options.until);
  const bench = await createBenchDatabase(options.url, options.database, { migrate: false });
  const loader = createPgDb({
    connectionString: `${bench.url}?options=${encodeURIComponent('-c maintenance_work_mem=1GB -c work_mem=64MB')}`,
    max: 2,
    applicationName: 'genloop-bench-load',
  });
  const writers = Array.from({ length: options.writers }, () =>
    createPgDb({ connectionString: bench.url, max: 1, applicationName: 'genloop-bench-insert' }),
  );
  try {
    const { applied } = await migrate(bench.db, { dir: migrations.dir });
    if (options.sql) await bench.db.exec(options.sql);
    process.stderr.write(`migrated to ${applied.at(-1)}; preloading ${options.preload} rows\n`);
    await fillTrainingExamples(loader, options.preload, { jobs: 2 });
    const { rows: indexes } = await bench.db.query<{ count: number; bytes: string }>(
      `select count(*)::int as count,
              pg_indexes_size('public.ai_training_examples')::text as bytes
         from pg_index where indrelid = 'public.ai_training_examples'::regclass`,
    );
    // One warm-up batch per writer: the first statement of a connection plans and caches.
    await Promise.all(writers.map((writer) => insertTrainingExamples(writer, [liveRow()])));
    await bench.db.query('checkpoint');
    const pids = await Promise.all(writers.map(backendPid));
    const cpuBefore = pids.map(cpuMs);

    const batchMs: number[] = [];
    const started = performance.now();
    let next = 0;
    const write = async (writer: Db) => {
      while (next++ < options.batches) {
        const rows = Array.from({ length: options.batchSize }, liveRow);
        const before = performance.now();
        await insertTrainingExamples(writer, rows);
        batchMs.push(performance.now() - before);
      }
    };
    await Promise.all(writers.map(write));
    const elapsedMs = performance.now() - started;
    const cpuAfter = pids.map(cpuMs);
    const rowsWritten = options.batches * options.batchSize;
    const backendCpuMs = cpuAfter.every((value) => value !== undefined)
      ? cpuAfter.reduce((sum, value, index) => sum + value! - cpuBefore[index]!, 0)
      : undefined;

    const result = {
      schemaUntil: applied.at(-1) ?? null,
      variant: options.sql ?? null,
      indexes: indexes[0]!.count,
      indexBytesAfterPreload: Number(indexes[0]!.bytes),
      rows: rowsWritten,
      rowsPerSecond: Math.round(rowsWritten / (elapsedMs / 1000)),
      batchP50Ms: round(percentile(batchMs, 0.5)),
      batchP95Ms: round(percentile(batchMs, 0.95)),
      backendCpuMsPer1000Rows:
        backendCpuMs === undefined ? null : round((backendCpuMs / rowsWritten) * 1000, 1),
    };
    console.log(formatTable([result]));
    const file = writeResult(options.output, 'insert', {
      benchmark: 'insert',
      createdAt: new Date().toISOString(),
      machine: machineInfo(),
      options: { ...options, url: undefined },
      result,
    });
    process.stderr.write(`wrote ${file}\n`);
  } finally {
    await Promise.all(writers.map((writer) => writer.close()));
    await loader.close();
    await bench.drop();
    migrations.cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench insert failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
