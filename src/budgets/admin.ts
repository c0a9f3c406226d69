import type { Queryable } from '../db/types.ts';
import { DomainError, type FieldError, validationFailed } from '../lib/domain-errors.ts';
import {
  assignPlan,
  BUDGET_PERIODS,
  type BudgetPeriod,
  roundUsd,
  selectBudgetStatus,
  upsertPlan,
  upsertUserLimit,
} from '../sql/budgets.ts';

/** The most a budget may be: past it an amount is a typo, not a budget. */
export const MAX_BUDGET_USD = 1_000_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLAN_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A budget as the CLI and the admin API take it: for a user or a plan, never both. */
export interface BudgetInput {
  user?: unknown;
  plan?: unknown;
  usd?: unknown;
  period?: unknown;
}

/** A user's budget as `genloop budget status` and the admin API print it. */
export interface BudgetStatusView {
  user_id: string;
  limit_usd: number | null;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number | null;
  period: BudgetPeriod | null;
  period_start: string | null;
  resets_at: string | null;
  source: 'user' | 'plan' | null;
  plan: string | null;
}

/**
 * Checks a budget and writes it: a plan's limit (`plan` + `usd` + `period`) or a user's own
 * (`user` + `usd` + `period`). Bad input throws `validation_failed` naming every field at fault,
 * and nothing is written. `prefix` names fields as the caller's surface does (`body.`, `--`).
 */
export async function setBudget(
  db: Queryable,
  input: BudgetInput,
  prefix = '',
): Promise<{ target: 'user' | 'plan'; name: string; limitUsd: number; period: BudgetPeriod }> {
  const errors: FieldError[] = [];
  const hasUser = input.user !== undefined;
  const hasPlan = input.plan !== undefined;
  if (hasUser === hasPlan) {
    errors.push({
      field: `${prefix}${hasUser ? 'plan' : 'user'}`,
      code: hasUser ? 'conflict' : 'required',
      message: 'give either a user or a plan',
    });
  }
  if (hasUser) checkUser(input.user, prefix, errors);
  if (hasPlan) checkPlan(input.plan, prefix, errors);
  const limitUsd = checkUsd(input.usd, prefix, errors);
  const period = checkPeriod(input.period, prefix, errors);
  if (errors.length > 0 || limitUsd === undefined || period === undefined) {
    throw validationFailed(errors);
  }
  if (hasUser) {
    const userId = String(input.user).toLowerCase();
    await upsertUserLimit(db, { userId, limitUsd, period });
    return { target: 'user', name: userId, limitUsd, period };
  }
  const name = String(input.plan);
  await upsertPlan(db, { name, limitUsd, period });
  return { target: 'plan', name, limitUsd, period };
}

/** Puts a user on an existing plan (an unknown plan is a 404 `plan_not_found`). */
export async function assignBudgetPlan(
  db: Queryable,
  input: { user?: unknown; plan?: unknown },
  prefix = '',
): Promise<{ userId: string; plan: string }> {
  const errors: FieldError[] = [];
  checkUser(input.user, prefix, errors);
  checkPlan(input.plan, prefix, errors);
  if (errors.length > 0) throw validationFailed(errors);
  const userId = String(input.user).toLowerCase();
  const plan = String(input.plan);
  if (!(await assignPlan(db, { userId, plan }))) {
    throw new DomainError('not_found', 'plan_not_found', 'plan not found', {
      detail: `there is no plan "${plan}"; create it first with a limit and a period`,
    });
  }
  return { userId, plan };
}

/** A user's budget and spending now; a user without a budget has no limit (all nulls). */
export async function budgetStatusOf(
  db: Queryable,
  user: unknown,
  now: Date,
  prefix = '',
): Promise<BudgetStatusView> {
  const errors: FieldError[] = [];
  checkUser(user, prefix, errors);
  if (errors.length > 0) throw validationFailed(errors);
  const userId = String(user).toLowerCase();
  const status = await selectBudgetStatus(db, userId, now);
  if (!status) {
    return {
      user_id: userId,
      limit_usd: null,
      spent_usd: 0,
      reserved_usd: 0,
      remaining_usd: null,
      period: null,
      period_start: null,
      resets_at: null,
      source: null,
      plan: null,
    };
  }
  return {
    user_id: userId,
    limit_usd: status.limitUsd,
    spent_usd: status.spentUsd,
    reserved_usd: status.reservedUsd,
    remaining_usd: Math.max(0, roundUsd(status.limitUsd - status.spentUsd - status.reservedUsd)),
    period: status.period,
    period_start: status.periodStart.toISOString(),
    resets_at: status.resetsAt.toISOString(),
    source: status.source,
    plan: status.plan,
  };
}

function checkUser(value: unknown, prefix: string, errors: FieldError[]): void {
  if (typeof value !== 'string' || !UUID.test(value)) {
    errors.push({ field: `${prefix}user`, code: 'invalid_uuid', message: "the user's id, a uuid" });
  }
}

function checkPlan(value: unknown, prefix: string, errors: FieldError[]): void {
  if (typeof value !== 'string' || !PLAN_NAME.test(value)) {
    errors.push({
      field: `${prefix}plan`,
      code: 'invalid_plan_name',
      message: 'lower-case letters, digits, `_` and `-`, starting with a letter or digit; up to 63',
    });
  }
}

function checkUsd(value: unknown, prefix: string, errors: FieldError[]): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  const amount =
    typeof text === 'string' && /^\d+(\.\d{1,8})?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(amount) || amount > MAX_BUDGET_USD) {
    errors.push({
      field: `${prefix}usd`,
      code: 'invalid_amount',
      message: `a dollar amount from 0 to ${MAX_BUDGET_USD}, with at most 8 decimals`,
    });
    return undefined;
  }
  return amount;
}

function checkPeriod(
  value: unknown,
  prefix: string,
  errors: FieldError[],
): BudgetPeriod | undefined {
  if (typeof value === 'string' && (BUDGET_PERIODS as readonly string[]).includes(value)) {
    return value as BudgetPeriod;
  }
  errors.push({ field: `${prefix}period`, code: 'invalid_period', message: '`day` or `month`' });
  return undefined;
}
