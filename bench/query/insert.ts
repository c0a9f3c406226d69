/**
 * What a telemetry write costs with the indexes and rollup triggers of ai_training_examples:
 * preloads the table (bench:query's fill), then inserts batches of rows the way the telemetry
 * writer flushes them (insertTrainingExamples, one jsonb parameter per batch) from a few writers
 * at once, and reports rows per second, the time of a batch and the WAL written per row. WAL per
 * row follows the work each index and rollup adds and hardly moves with the machine's load, so
 * it is the figure to compare between schemas; rows per second is the one users feel.
 *
 *   npx tsx bench/query/insert.ts [--preload 1000000] [--batches 400] [--batch-size 100]
 *                                 [--writers 2] [--until 20260217140000] [--database-url URL]
 *                                 [--database genloop_bench_insert] [--output bench/results]
 *
 * `--until VERSION` migrates only up to that migration, so one tree measures the schema before
 * and after a change. Writes bench/results/insert-<date>.json. Times are reported, never asserted.
 */
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

async function walBytes(db: Db): Promise<bigint> {
  const { rows } = await db.query<{ lsn: string }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as lsn`,
  );
  return BigInt(rows[0]!.lsn.split('.')[0]!);
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
  const writers = createPgDb({
    connectionString: bench.url,
    max: options.writers,
    applicationName: 'genloop-bench-insert',
  });
  try {
    const { applied } = await migrate(bench.db, { dir: migrations.dir });
    process.stderr.write(`migrated to ${applied.at(-1)}; preloading ${options.preload} rows\n`);
    await fillTrainingExamples(loader, options.preload, { jobs: 2 });
    const { rows: indexes } = await bench.db.query<{ count: number; bytes: string }>(
      `select count(*)::int as count,
              pg_indexes_size('public.ai_training_examples')::text as bytes
         from pg_index where indrelid = 'public.ai_training_examples'::regclass`,
    );
    // One warm-up batch per writer: the first statement of a connection plans and caches.
    await Promise.all(
      Array.from({ length: options.writers }, () => insertTrainingExamples(writers, [liveRow()])),
    );
    await bench.db.query('checkpoint');

    const batchMs: number[] = [];
    const walBefore = await walBytes(bench.db);
    const started = performance.now();
    let next = 0;
    const writer = async () => {
      while (next++ < options.batches) {
        const rows = Array.from({ length: options.batchSize }, liveRow);
        const before = performance.now();
        await insertTrainingExamples(writers, rows);
        batchMs.push(performance.now() - before);
      }
    };
    await Promise.all(Array.from({ length: options.writers }, writer));
    const elapsedMs = performance.now() - started;
    const walAfter = await walBytes(bench.db);
    const rowsWritten = options.batches * options.batchSize;

    const result = {
      schemaUntil: applied.at(-1) ?? null,
      indexes: indexes[0]!.count,
      indexBytesAfterPreload: Number(indexes[0]!.bytes),
      rows: rowsWritten,
      rowsPerSecond: Math.round(rowsWritten / (elapsedMs / 1000)),
      batchP50Ms: round(percentile(batchMs, 0.5)),
      batchP95Ms: round(percentile(batchMs, 0.95)),
      walBytesPerRow: Math.round(Number(walAfter - walBefore) / rowsWritten),
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
    await writers.close();
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
