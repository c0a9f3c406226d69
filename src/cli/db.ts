import type { Command } from 'commander';
import { migrate, migrationStatus } from '../db/migrator.ts';
import { openDb } from '../db/open.ts';
import { OperatorError } from '../lib/errors.ts';
import { countPrunable, type PruneCounts, pruneTelemetry } from '../sql/prune.ts';
import { countExpiredAnswers, purgeExpiredAnswers } from '../sql/response-cache.ts';
import {
  countExpiredSemanticAnswers,
  enableSemanticCache,
  purgeExpiredSemanticAnswers,
} from '../sql/semantic-cache.ts';
import type { CliContext } from './context.ts';
import { formatTable } from './output.ts';

export function registerDbCommands(program: Command, context: CliContext): void {
  const db = program.command('db').description('database migrations');

  db.command('migrate')
    .description('apply pending migrations (exits 0 when there are none)')
    .action(async () => {
      const config = context.config();
      const handle = await openDb(config, { direct: true });
      try {
        const result = await migrate(handle, {
          onApplied: (migration, ms) => context.stdout(`applied ${migration.file} (${ms} ms)\n`),
        });
        if (result.appliedElsewhere.length > 0) {
          context.stdout(
            `${result.appliedElsewhere.length} migration(s) applied meanwhile by another migrator\n`,
          );
        }
        if (result.applied.length === 0) context.stdout('database is up to date\n');
        context.stdout(
          (await enableSemanticCache(handle))
            ? 'semantic cache: on (pgvector)\n'
            : 'semantic cache: off (pgvector is not installed on this server)\n',
        );
      } finally {
        await handle.close();
      }
    });

  db.command('status')
    .description('list migrations and whether each is applied, pending, edited or missing')
    .action(async () => {
      const config = context.config();
      const handle = await openDb(config);
      try {
        const rows = await migrationStatus(handle);
        context.stdout(
          `${formatTable(rows.map((row) => ({ version: row.version, name: row.name, state: row.state, applied_at: row.appliedAt })))}\n`,
        );
        const pending = rows.filter((row) => row.state === 'pending').length;
        context.stdout(
          pending === 0
            ? 'database is up to date\n'
            : `${pending} pending; run genloop db migrate\n`,
        );
      } finally {
        await handle.close();
      }
    });

  db.command('prune')
    .description(
      'delete raw telemetry (training rows and provider attempts) older than a duration, in ' +
        'small batches (the hourly and daily rollups keep counting it), and every expired ' +
        'response-cache entry',
    )
    .requiredOption('--older-than <duration>', 'age to keep, e.g. 90d, 12h, 90m (at least 1h)')
    .option('--dry-run', 'count what would be deleted and delete nothing')
    .option('--batch-size <rows>', 'rows per delete statement (each its own transaction)', '5000')
    .action(async (options: { olderThan: string; dryRun?: boolean; batchSize: string }) => {
      const ageMs = parseRetention(options.olderThan);
      const batchSize = parseBatchSize(options.batchSize);
      const config = context.config();
      const handle = await openDb(config);
      const started = performance.now();
      try {
        const cutoff = new Date(Date.now() - ageMs);
        const summary = (verb: string, counts: PruneCounts) =>
          `${verb} ${counts.trainingExamples} ai_training_examples and ${counts.providerAttempts} ` +
          `ai_provider_attempts created before ${cutoff.toISOString()} ` +
          `(${((performance.now() - started) / 1000).toFixed(1)} s)\n`;
        const cacheSummary = (verb: string, exact: number, semantic: number) =>
          `${verb} ${exact} expired ai_response_cache and ${semantic} expired ai_semantic_cache entries\n`;
        if (options.dryRun) {
          context.stdout(summary('would delete', await countPrunable(handle, cutoff)));
          context.stdout(
            cacheSummary(
              'would delete',
              await countExpiredAnswers(handle),
              await countExpiredSemanticAnswers(handle),
            ),
          );
          return;
        }
        const totals = await pruneTelemetry(handle, {
          cutoff,
          batchSize,
          ...(context.interactive
            ? {
                onProgress: (running: PruneCounts) =>
                  context.stderr(
                    `\rdeleted ${running.trainingExamples} training rows, ` +
                      `${running.providerAttempts} attempts`,
                  ),
              }
            : {}),
        });
        if (context.interactive) context.stderr('\n');
        context.stdout(summary('deleted', totals));
        // Cache entries expire by their own TTL, not by --older-than: an expired one is never
        // served again, so all of them go.
        context.stdout(
          cacheSummary(
            'deleted',
            await purgeExpiredAnswers(handle, batchSize),
            await purgeExpiredSemanticAnswers(handle, batchSize),
          ),
        );
      } finally {
        await handle.close();
      }
    });
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Below an hour, a prune could take the rows of generations still being written and scored. */
const MIN_RETENTION_MS = UNIT_MS.h!;
/** A century: beyond it the cutoff is no longer a date anyone means. */
const MAX_RETENTION_MS = 36_500 * UNIT_MS.d!;

/**
 * Milliseconds in a retention like `90d`, `12h` or `90m`; anything else, or an age under an
 * hour or over a century, is an OperatorError naming the flag.
 */
export function parseRetention(text: string): number {
  const match = /^(\d{1,6})([mhd])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : Number.NaN;
  if (!match) {
    throw new OperatorError(
      `--older-than takes a whole number and a unit m, h or d (e.g. 90d), got "${text}"`,
    );
  }
  if (ms < MIN_RETENTION_MS || ms > MAX_RETENTION_MS) {
    throw new OperatorError(
      `--older-than must be between 1h and 36500d (younger rows may still be in use), got "${text}"`,
    );
  }
  return ms;
}

function parseBatchSize(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 100_000) {
    throw new OperatorError(`--batch-size takes a whole number from 1 to 100000, got "${text}"`);
  }
  return value;
}
