import { userInfo } from 'node:os';
import type { Queryable } from '../db/types.ts';

/**
 * The actions `ai_rollout_log.action` allows (the canary writes the canary_* ones, the console
 * provider_update).
 */
export const ROLLOUT_ACTIONS = [
  'apply',
  'verify',
  'rollback',
  'restore',
  'canary_start',
  'canary_step',
  'canary_check',
  'canary_halt',
  'canary_rollback',
  'canary_abort',
  'canary_complete',
  'note',
  'provider_update',
] as const;

export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export type RolloutStatus = 'ok' | 'failed' | 'info';

/**
 * One row of `ai_rollout_log`: the audit trail of a rollout (who, when, each stage's start and
 * end, verification outputs, the rollback drill's result), so its history stays auditable.
 */
export interface RolloutLogEntry {
  id: number;
  environment: string;
  action: RolloutAction;
  operator: string;
  status: RolloutStatus;
  startedAt: Date;
  finishedAt: Date | null;
  verification: unknown;
  rollbackTestResult: string | null;
  savedState: unknown;
  notes: string | null;
  createdAt: Date;
}

export interface NewRolloutLogEntry {
  environment: string;
  action: RolloutAction;
  operator: string;
  status: RolloutStatus;
  /** Defaults to now. */
  startedAt?: Date;
  finishedAt?: Date | null;
  verification?: unknown;
  rollbackTestResult?: string | null;
  savedState?: unknown;
  notes?: string | null;
}

export interface ReadLogOptions {
  environment?: string;
  action?: RolloutAction;
  /** Newest first; default 50. */
  limit?: number;
}

interface LogRow {
  id: number;
  environment: string;
  action: RolloutAction;
  operator: string;
  status: RolloutStatus;
  started_at: Date;
  finished_at: Date | null;
  verification: unknown;
  rollback_test_result: string | null;
  saved_state: unknown;
  notes: string | null;
  created_at: Date;
}

/**
 * Appends an entry and returns its id. Takes a transaction when the entry must land together
 * with the change it records (rollback, restore).
 */
export async function writeLogEntry(target: Queryable, entry: NewRolloutLogEntry): Promise<number> {
  const { rows } = await target.query<{ id: number }>(
    `insert into public.ai_rollout_log
       (environment, action, operator, status, started_at, finished_at, verification,
        rollback_test_result, saved_state, notes)
     values ($1, $2, $3, $4, coalesce($5::timestamptz, now()), $6, $7::jsonb,
             $8, $9::jsonb, $10)
     returning id`,
    [
      entry.environment,
      entry.action,
      entry.operator,
      entry.status,
      entry.startedAt ?? null,
      entry.finishedAt ?? null,
      toJson(entry.verification),
      entry.rollbackTestResult ?? null,
      toJson(entry.savedState),
      entry.notes ?? null,
    ],
  );
  return rows[0]!.id;
}

/** Reads entries in the order they were recorded, newest first; optionally one environment or action. */
export async function readLog(
  target: Queryable,
  options: ReadLogOptions = {},
): Promise<RolloutLogEntry[]> {
  const { rows } = await target.query<LogRow>(
    `select id, environment, action, operator, status, started_at, finished_at, verification,
            rollback_test_result, saved_state, notes, created_at
       from public.ai_rollout_log
      where ($1::text is null or environment = $1)
        and ($2::text is null or action = $2)
      order by id desc
      limit $3`,
    [options.environment ?? null, options.action ?? null, options.limit ?? 50],
  );
  return rows.map((row) => ({
    id: row.id,
    environment: row.environment,
    action: row.action,
    operator: row.operator,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    verification: row.verification,
    rollbackTestResult: row.rollback_test_result,
    savedState: row.saved_state,
    notes: row.notes,
    createdAt: row.created_at,
  }));
}

/**
 * Who is rolling out: `--operator`, else `$USER` (`%USERNAME%`), else the account the process
 * runs as (shells started by CI runners and containers often leave `$USER` unset), else
 * `unknown`.
 */
export function resolveOperator(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  accountName: () => string = () => userInfo().username,
): string {
  const name = flag?.trim() || env.USER?.trim() || env.USERNAME?.trim();
  if (name) return name;
  try {
    return accountName().trim() || 'unknown';
  } catch {
    // userInfo() throws when the uid has no passwd entry (an arbitrary uid in a container).
    return 'unknown';
  }
}

function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
