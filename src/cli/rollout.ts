import type { Command } from 'commander';
import { PG } from '../db/errors.ts';
import { OperatorError } from '../lib/errors.ts';
import { applyRollout } from '../rollout/apply.ts';
import { summariseCanaryEntry } from '../rollout/canary/events.ts';
import {
  ROLLOUT_ACTIONS,
  type RolloutAction,
  type RolloutLogEntry,
  readLog,
  resolveOperator,
  writeLogEntry,
} from '../rollout/log.ts';
import type { ProviderConfigState } from '../rollout/provider-state.ts';
import { restoreRollback } from '../rollout/restore.ts';
import { rollbackProviders } from '../rollout/rollback.ts';
import { parseRolloutTarget, ROLLOUT_TARGETS, type RolloutTarget } from '../rollout/targets.ts';
import { type VerificationResult, verifyRollout } from '../rollout/verify.ts';
import { type CliContext, withDb } from './context.ts';
import { formatTable } from './output.ts';

/** Exit code of `rollout verify` when an expectation fails: 2, "gate failed" in every command. */
export const VERIFY_FAILED_EXIT_CODE = 2;

const ROLLBACK_TEST_RESULTS = ['passed', 'failed', 'not_run'] as const;
const STATE_COLUMNS = ['provider', 'environment', 'enabled', 'is_default', 'weight'];

interface OperatorFlags {
  operator?: string;
  notes?: string;
}

/**
 * `genloop rollout apply|verify|rollback|restore|log|note --env staging|prod|single_db`: the
 * Phase 2 rollout runbook (docs/runbook.md) as commands. `--env` is genloop's global option
 * (commander hands it to the program), read here as the rollout target and required.
 */
export function registerRolloutCommands(program: Command, context: CliContext): void {
  const rollout = program
    .command('rollout')
    .description('environment overlays, verification, P0 rollback and the rollout log')
    .addHelpText(
      'after',
      `\nEvery rollout command takes --env ${ROLLOUT_TARGETS.join('|')} (required; an optional filter for rollout log).\nExit codes: 0 ok, 1 error (bad input, unreachable database), ${VERIFY_FAILED_EXIT_CODE} verification failed.\nRunbook: docs/runbook.md`,
    );

  rollout
    .command('apply')
    .description('apply pending migrations, then the overlay of --env, and log the stage')
    .option('--operator <name>', 'who runs the stage (default $USER)')
    .option('--notes <text>', 'free text for the log entry')
    .action(async (flags: OperatorFlags, command: Command) => {
      const target = targetOf(command);
      await withDb(context, async (db) => {
        const result = await applyRollout(db, target, {
          operator: resolveOperator(flags.operator, context.env),
          ...(flags.notes ? { notes: flags.notes } : {}),
          onMigration: (migration, ms) => context.stdout(`applied ${migration.file} (${ms} ms)\n`),
        });
        if (result.migrated.length === 0) context.stdout('migrations: database is up to date\n');
        context.stdout(
          `applied overlay ${target}.sql in one transaction (logged as rollout log #${result.logId})\n` +
            `next: genloop rollout verify --env ${target}\n`,
        );
      });
    });

  rollout
    .command('verify')
    .description(
      `run the runbook's verification queries for --env; exit ${VERIFY_FAILED_EXIT_CODE} when an expectation fails`,
    )
    .option('--operator <name>', 'who verifies (default $USER)')
    .option(
      '--preflight',
      'only the preflight queries (tables, columns), as before the base migration',
    )
    .option('--summary', 'print only the summary table, not the rows of each query')
    .option('--json', 'print the checks (queries, rows, results) as JSON')
    .option('--no-log', 'do not write a verify entry to ai_rollout_log')
    .action(
      async (
        flags: {
          operator?: string;
          preflight?: boolean;
          summary?: boolean;
          json?: boolean;
          log: boolean;
        },
        command: Command,
      ) => {
        const target = targetOf(command);
        await withDb(context, async (db) => {
          const startedAt = new Date();
          const result = await verifyRollout(db, target, { preflight: flags.preflight ?? false });
          let logNote = '';
          if (flags.log) {
            const logId = await writeLogEntry(db, {
              environment: target,
              action: 'verify',
              operator: resolveOperator(flags.operator, context.env),
              status: result.passed ? 'ok' : 'failed',
              startedAt,
              finishedAt: new Date(),
              verification: result,
            }).catch((error: unknown) => {
              if ((error as { code?: string }).code !== PG.undefinedTable) throw error;
              context.stderr('genloop: ai_rollout_log does not exist yet; result not logged\n');
              return undefined;
            });
            if (logId !== undefined) logNote = ` (logged as rollout log #${logId})`;
          }
          const failed = result.checks.filter((check) => !check.passed);
          const what = flags.preflight ? 'preflight checks' : 'checks';
          // --json keeps stdout one JSON document; the failure line still goes to stderr.
          if (flags.json) context.stdout(`${JSON.stringify(result, null, 2)}\n`);
          else {
            context.stdout(renderVerification(result, { rows: !flags.summary }));
            context.stdout(
              failed.length === 0
                ? `PASS: ${result.checks.length} of ${result.checks.length} ${what} passed for ${target}${logNote}\n`
                : `FAIL: ${failed.length} of ${result.checks.length} ${what} failed for ${target}: ${failed.map((check) => check.name).join(', ')}${logNote}\n`,
            );
          }
          if (failed.length > 0) {
            const fix = flags.preflight
              ? 'This is not a Phase 1 database; check DATABASE_URL.'
              : `Fix the state (genloop rollout apply --env ${target}) and verify again.`;
            throw new OperatorError(
              `verification of ${target} failed: ${failed.map((check) => `${check.name} (${check.detail})`).join('; ')}. ${fix}`,
              { exitCode: VERIFY_FAILED_EXIT_CODE },
            );
          }
        });
      },
    );

  rollout
    .command('rollback')
    .description(
      'P0 rollback in one transaction: openai the only enabled provider, default, weight 100',
    )
    .option('--operator <name>', 'who rolls back (default $USER)')
    .option('--notes <text>', 'why (goes to the log entry)')
    .action(async (flags: OperatorFlags, command: Command) => {
      const target = targetOf(command);
      await withDb(context, async (db) => {
        const result = await rollbackProviders(db, target, {
          operator: resolveOperator(flags.operator, context.env),
          ...(flags.notes ? { notes: flags.notes } : {}),
        });
        context.stdout(
          `P0 rollback of ${target} (environment ${result.environments.join(', ')}) committed in one transaction\n\n` +
            `before:\n${formatTable(result.before as unknown as Record<string, unknown>[], STATE_COLUMNS)}\n\n` +
            `after:\n${formatTable(result.after, STATE_COLUMNS)}\n\n` +
            `saved ${result.before.length} row(s) in rollout log #${result.logId}; undo with: genloop rollout restore --env ${target}\n`,
        );
        if (target === 'single_db') {
          context.stdout(
            'note: the P0 rollback also enables openai in staging, so rollout verify --env single_db reports non_prod_enabled_count = 1 until rollout restore or rollout apply.\n',
          );
        }
      });
    });

  rollout
    .command('restore')
    .description('put back the rows replaced by the latest rollback of --env not yet restored')
    .option('--operator <name>', 'who restores (default $USER)')
    .option('--notes <text>', 'free text for the log entry')
    .action(async (flags: OperatorFlags, command: Command) => {
      const target = targetOf(command);
      await withDb(context, async (db) => {
        const result = await restoreRollback(db, target, {
          operator: resolveOperator(flags.operator, context.env),
          ...(flags.notes ? { notes: flags.notes } : {}),
        });
        context.stdout(
          `restored ${target} to the state saved by rollout log #${result.restoredFrom}, in one transaction\n\n` +
            `before:\n${formatState(result.before)}\n\n` +
            `after:\n${formatState(result.after)}\n\n` +
            `logged as rollout log #${result.logId}\n`,
        );
      });
    });

  rollout
    .command('log')
    .description('list ai_rollout_log entries, newest first (all environments unless --env)')
    .option('--limit <n>', 'how many entries', '20')
    .option('--action <action>', 'only this action (apply, verify, rollback, restore, note, ...)')
    .option('--json', 'print the full entries (verification outputs, saved state) as JSON')
    .action(async (flags: { limit: string; action?: string; json?: boolean }, command: Command) => {
      const value = command.optsWithGlobals<{ env?: string }>().env;
      const target = value === undefined ? undefined : parseRolloutTarget(value);
      if (
        flags.action !== undefined &&
        !(ROLLOUT_ACTIONS as readonly string[]).includes(flags.action)
      ) {
        throw new OperatorError(
          `--action "${flags.action}" is not one of ${ROLLOUT_ACTIONS.join(', ')}.`,
        );
      }
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new OperatorError(`--limit "${flags.limit}" is not a whole number from 1 to 10000.`);
      }
      await withDb(context, async (db) => {
        const entries = await readLog(db, {
          limit,
          ...(target ? { environment: target } : {}),
          ...(flags.action ? { action: flags.action as RolloutAction } : {}),
        });
        context.stdout(
          flags.json
            ? `${JSON.stringify(entries, null, 2)}\n`
            : `${formatTable(entries.map(logRow), LOG_COLUMNS)}\n`,
        );
      });
    });

  rollout
    .command('note')
    .description('record a post-rollout log item: stage start/end, rollback test result')
    .option(
      '--stage-start <time>',
      'when the stage started (ISO 8601; default --stage-end, else now)',
    )
    .option('--stage-end <time>', 'when the stage ended (ISO 8601)')
    .option('--rollback-test-result <result>', `one of ${ROLLBACK_TEST_RESULTS.join(', ')}`)
    .option('--notes <text>', 'free text (soak observations, links to evidence)')
    .option('--operator <name>', 'who records it (default $USER)')
    .action(
      async (
        flags: OperatorFlags & {
          stageStart?: string;
          stageEnd?: string;
          rollbackTestResult?: string;
        },
        command: Command,
      ) => {
        const target = targetOf(command);
        const finishedAt = parseTime('--stage-end', flags.stageEnd);
        // A note that only closes a stage is dated at its end.
        const startedAt = parseTime('--stage-start', flags.stageStart) ?? finishedAt ?? new Date();
        if (finishedAt && finishedAt < startedAt) {
          throw new OperatorError('--stage-end is before --stage-start; swap them.');
        }
        const result = flags.rollbackTestResult;
        if (
          result !== undefined &&
          !(ROLLBACK_TEST_RESULTS as readonly string[]).includes(result)
        ) {
          throw new OperatorError(
            `--rollback-test-result "${result}" is not one of ${ROLLBACK_TEST_RESULTS.join(', ')}; put details in --notes.`,
          );
        }
        if (!flags.stageStart && !flags.stageEnd && result === undefined && !flags.notes) {
          throw new OperatorError(
            'nothing to record; give --stage-start/--stage-end, --rollback-test-result or --notes.',
          );
        }
        await withDb(context, async (db) => {
          const logId = await writeLogEntry(db, {
            environment: target,
            action: 'note',
            operator: resolveOperator(flags.operator, context.env),
            status: 'info',
            startedAt,
            finishedAt: finishedAt ?? null,
            rollbackTestResult: result ?? null,
            notes: flags.notes ?? null,
          });
          context.stdout(`recorded rollout log #${logId}\n`);
        });
      },
    );
}

function targetOf(command: Command): RolloutTarget {
  return parseRolloutTarget(command.optsWithGlobals<{ env?: string }>().env);
}

function parseTime(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new OperatorError(
      `${flag} "${value}" is not a time; use ISO 8601, e.g. 2026-02-15T09:30:00Z.`,
    );
  }
  return time;
}

function formatState(rows: ProviderConfigState[]): string {
  return formatTable(rows as unknown as Record<string, unknown>[], STATE_COLUMNS);
}

/** Each check: a header, its query's rows (unless summary only); then one summary table. */
export function renderVerification(result: VerificationResult, options: { rows: boolean }): string {
  const parts: string[] = [];
  if (options.rows) {
    result.checks.forEach((check, index) => {
      parts.push(
        `[${check.passed ? 'PASS' : 'FAIL'}] ${index + 1}/${result.checks.length} ${check.name} (${check.source})\n` +
          `expect: ${check.expectation}\n` +
          `found:  ${check.detail}\n` +
          `${formatTable(check.rows)}\n`,
      );
    });
  }
  parts.push(
    `${formatTable(
      result.checks.map((check) => ({
        check: check.name,
        result: check.passed ? 'PASS' : 'FAIL',
        expectation: check.expectation,
        found: check.detail,
      })),
    )}\n`,
  );
  return parts.join('\n');
}

const LOG_COLUMNS = [
  'id',
  'environment',
  'action',
  'status',
  'operator',
  'started_at',
  'finished_at',
  'rollback_test',
  'details',
];

function logRow(entry: RolloutLogEntry): Record<string, unknown> {
  return {
    id: entry.id,
    environment: entry.environment,
    action: entry.action,
    status: entry.status,
    operator: entry.operator,
    started_at: entry.startedAt,
    finished_at: entry.finishedAt,
    rollback_test: entry.rollbackTestResult,
    details: [summarise(entry), entry.notes].filter(Boolean).join(' | '),
  };
}

function summarise(entry: RolloutLogEntry): string {
  const canary = summariseCanaryEntry(entry.verification);
  if (canary !== undefined) return canary;
  const verification = entry.verification as VerificationResult | null;
  if (verification?.checks) {
    const failed = verification.checks.filter((check) => !check.passed);
    return failed.length === 0
      ? `${verification.checks.length}/${verification.checks.length} checks passed`
      : `failed: ${failed.map((check) => check.name).join(', ')}`;
  }
  const saved = entry.savedState as { rows?: unknown[]; restores_log_id?: number } | null;
  if (saved?.restores_log_id !== undefined) return `restored rollback #${saved.restores_log_id}`;
  if (Array.isArray(saved?.rows)) return `saved ${saved.rows.length} row(s)`;
  return '';
}
