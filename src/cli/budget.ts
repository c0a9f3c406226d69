import type { Command } from 'commander';
import {
  assignBudgetPlan,
  type BudgetStatusView,
  budgetStatusOf,
  setBudget,
} from '../budgets/admin.ts';
import { DomainError } from '../lib/domain-errors.ts';
import { OperatorError } from '../lib/errors.ts';
import { type CliContext, withDb } from './context.ts';

/**
 * `genloop budget set|assign|status`: dollar budgets per user and per plan. Bad input exits 1
 * with one line naming the flag, before anything is written.
 */
export function registerBudgetCommands(program: Command, context: CliContext): void {
  const budget = program
    .command('budget')
    .description('dollar budgets per user and per plan (day or calendar month, UTC)');

  budget
    .command('set')
    .description("set a plan's limit, or a user's own limit (which beats their plan's)")
    .option('--user <uuid>', 'the user whose own limit this is')
    .option('--plan <name>', 'the plan whose limit this is (created if new)')
    .requiredOption('--usd <amount>', 'the limit in US dollars, e.g. 5 or 0.002')
    .requiredOption('--period <period>', 'day or month')
    .action(async (options: { user?: string; plan?: string; usd: string; period: string }) => {
      const set = await asOperator(() => withDb(context, (db) => setBudget(db, options, '--')));
      context.stdout(
        `budget set: ${set.target} ${set.name} may spend $${set.limitUsd} per ${set.period}\n`,
      );
    });

  budget
    .command('assign')
    .description('put a user on a plan')
    .requiredOption('--user <uuid>', 'the user')
    .requiredOption('--plan <name>', 'an existing plan')
    .action(async (options: { user: string; plan: string }) => {
      const assigned = await asOperator(() =>
        withDb(context, (db) => assignBudgetPlan(db, options, '--')),
      );
      context.stdout(`budget assign: user ${assigned.userId} is on plan ${assigned.plan}\n`);
    });

  budget
    .command('status')
    .description("a user's limit, spending and reset time in the current period")
    .requiredOption('--user <uuid>', 'the user')
    .option('--json', 'print JSON')
    .action(async (options: { user: string; json?: boolean }) => {
      const status = await asOperator(() =>
        withDb(context, (db) => budgetStatusOf(db, options.user, new Date(), '--')),
      );
      context.stdout(options.json ? `${JSON.stringify(status, null, 2)}\n` : describe(status));
    });
}

function describe(status: BudgetStatusView): string {
  if (status.limit_usd === null) return `user ${status.user_id}: no budget (no limit)\n`;
  const origin = status.source === 'plan' ? `plan ${status.plan}` : 'own limit';
  const lines: [string, unknown][] = [
    ['user', status.user_id],
    ['limit_usd', `${status.limit_usd} per ${status.period} (${origin})`],
    ['spent_usd', status.spent_usd],
    ['reserved_usd', status.reserved_usd],
    ['remaining_usd', status.remaining_usd],
    ['period', status.period],
    ['resets_at', status.resets_at],
  ];
  return lines.map(([name, value]) => `${name.padEnd(14)}${value}\n`).join('');
}

/** A refusal of the input becomes one line for the operator (exit 1). */
async function asOperator<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DomainError) {
      const detail = error.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
      throw new OperatorError(detail || error.detail || error.message, { cause: error });
    }
    throw error;
  }
}
