/**
 * Retention benchmark, on real Postgres: fills ai_training_examples with N rows spread evenly
 * over 180 days (each with one provider attempt) and times `genloop db prune --older-than 90d`,
 * so about half of them go.
 *
 *   npm run bench:prune -- [--rows 1000000] [--batch-size 5000] [--database-url URL]
 *                          [--output bench/results]
 *
 * It works in a database of its own (genloop_bench_prune), dropped at the end. Reports the fill,
 * the dry-run count, the prune and its longest batch (the longest any lock is held), and checks
 * that the rollups' totals did not move. Prints a table and writes bench/results/prune-<date>.json.
 * Times are reported, never asserted.
 */
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { countPrunable, pruneTelemetry } from '../../src/sql/prune.ts';
import { createBenchDatabase, DEFAULT_DATABASE_URL, serverInfo } from '../lib/database.ts';
import { positiveInteger } from '../lib/options.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { round } from '../lib/stats.ts';

const FILL_CHUNK = 250_000;
const DAY_MS = 86_400_000;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      'batch-size': { type: 'string', default: '5000' },
      'database-url': { type: 'string' },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  const positive = (name: 'rows' | 'batch-size') => positiveInteger(name, values[name]);
  return {
    rows: positive('rows'),
    batchSize: positive('batch-size'),
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    output: values.output,
  };
}

const seconds = (since: number) => round((performance.now() - since) / 1000, 2);

async function main() {
  const options = parseOptions();
  const probeStart = speedProbeMs();
  const bench = await createBenchDatabase(options.serverUrl, 'genloop_bench_prune');
  try {
    const { db } = bench;
    const server = await serverInfo(db);
    log(`filling ${options.rows} training rows and attempts`);
    const fillStarted = performance.now();
    for (let from = 1; from <= options.rows; from += FILL_CHUNK) {
      const to = Math.min(from + FILL_CHUNK - 1, options.rows);
      // Row i is i/N of 180 days old: every hour of the window has rows, as in production.
      await db.query(
        `with examples as (
           insert into public.ai_training_examples (source, status, request_id, selected_provider,
             route_strategy, prompt_template_version, latency_ms, created_at)
           select 'generation', 'succeeded', gen_random_uuid(),
                  (array['openai', 'custom', 'openrouter'])[1 + i % 3], 'weighted', 'v1',
                  100 + i % 1900, now() - (i::float8 / $3) * interval '180 days'
             from generate_series($1::int, $2::int) i
           returning id, request_id, created_at
         )
         insert into public.ai_provider_attempts (training_example_id, request_id, attempt_no,
           provider, status, latency_ms, created_at)
         select id, request_id, 1, 'openai', 'succeeded', 50, created_at from examples`,
        [from, to, options.rows],
      );
      log(`  ${to} rows (${seconds(fillStarted)} s)`);
    }
    await db.exec('vacuum analyze public.ai_training_examples, public.ai_provider_attempts');
    const fillS = seconds(fillStarted);

    const rollupTotal = async () =>
      Number(
        (
          await db.query<{ total: string }>(
            'select coalesce(sum(total_count), 0)::text as total from public.ai_training_examples_daily',
          )
        ).rows[0]!.total,
      );
    const rollupBefore = await rollupTotal();
    const cutoff = new Date(Date.now() - 90 * DAY_MS);

    const countStarted = performance.now();
    const wouldDelete = await countPrunable(db, cutoff);
    const countS = seconds(countStarted);
    log(
      `dry run: ${wouldDelete.trainingExamples} training rows, ${wouldDelete.providerAttempts} attempts`,
    );

    const batchMs: number[] = [];
    let last = performance.now();
    const pruneStarted = last;
    const totals = await pruneTelemetry(db, {
      cutoff,
      batchSize: options.batchSize,
      onProgress: () => {
        const now = performance.now();
        batchMs.push(now - last);
        last = now;
      },
    });
    const pruneS = seconds(pruneStarted);
    const rollupAfter = await rollupTotal();
    const sorted = [...batchMs].sort((a, b) => a - b);
    const at = (fraction: number) =>
      round(sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0, 1);

    const result = {
      rows: options.rows,
      batchSize: options.batchSize,
      fillS,
      dryRunCountS: countS,
      pruneS,
      trainingExamplesDeleted: totals.trainingExamples,
      providerAttemptsDeleted: totals.providerAttempts,
      rowsPerSecond: Math.round((totals.trainingExamples + totals.providerAttempts) / pruneS),
      batches: batchMs.length,
      batchP50Ms: at(0.5),
      batchP99Ms: at(0.99),
      batchMaxMs: round(sorted.at(-1) ?? 0, 1),
      rollupTotalBefore: rollupBefore,
      rollupTotalAfter: rollupAfter,
    };
    console.log(formatTable([result]));
    const file = writeResult(options.output, 'prune', {
      benchmark: 'prune',
      date: new Date().toISOString(),
      machine: machineInfo(),
      server,
      speedProbeMs: { start: probeStart, end: speedProbeMs() },
      result,
    });
    log(`wrote ${file}`);
  } finally {
    await bench.drop();
  }
}

await main();
