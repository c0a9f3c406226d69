import type { Db, Row } from '../db/types.ts';
import {
  EVAL_OBJECTS,
  forEnvironments,
  INDEXES,
  PREFLIGHT_COLUMNS,
  PREFLIGHT_TABLES,
  SINGLE_DB_COUNTS,
  SINGLE_DB_PROVIDERS,
  STAGING_DEFAULT_COUNT,
  STAGING_PROD_PROVIDERS,
} from './runbook-queries.ts';
import type { RolloutTarget } from './targets.ts';

/** One verification query with what it returned and whether that meets the expectation. */
export interface VerificationCheck {
  name: string;
  /** Where the query comes from: a section of docs/runbook.md, or genloop's own check. */
  source: string;
  sql: string;
  rows: Row[];
  expectation: string;
  passed: boolean;
  /** What was found, or why the check failed (a query error included). */
  detail: string;
}

export interface VerificationResult {
  target: RolloutTarget;
  /** True for the preflight (before the base migration), false for the full checks. */
  preflight: boolean;
  passed: boolean;
  checks: VerificationCheck[];
}

/** The tables the preflight looks for. */
export const REQUIRED_TABLES = [
  'ai_eval_runs',
  'ai_eval_samples',
  'ai_provider_configs',
  'ai_training_examples',
] as const;

/**
 * Columns the rollout relies on: the routing fields every generation writes to the telemetry
 * table, the provider config columns, and the per-sample eval outcomes.
 */
export const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  ai_training_examples: [
    'request_id',
    'requested_provider',
    'selected_provider',
    'route_strategy',
    'fallback_provider',
    'fallback_used',
    'latency_ms',
    'prompt_template_version',
  ],
  ai_provider_configs: [
    'provider',
    'environment',
    'enabled',
    'is_default',
    'weight',
    'timeout_ms',
    'max_retries',
    'model',
    'prompt_template_version',
    'metadata',
  ],
  ai_eval_samples: [
    'run_id',
    'schema_valid',
    'patch_apply_success',
    'edit_after_generate',
    'publish_conversion',
    'safety_compliant',
    'fallback_used',
    'latency_ms',
  ],
};

/**
 * The indexes that keep provider routing analysis fast (by selected provider and time, by
 * request id, by route strategy and time), as the migrations name them.
 */
export const REQUIRED_INDEXES = [
  'ai_training_examples_selected_provider_created_at_idx',
  'ai_training_examples_request_id_idx',
  'ai_training_examples_route_strategy_created_at_idx',
] as const;

const DEFAULTS_PER_ENVIRONMENT = `select
  environment,
  count(*) filter (where enabled) as enabled_count,
  count(*) filter (where is_default) as default_count
from public.ai_provider_configs
group by environment
order by environment;`;

interface CheckDefinition {
  name: string;
  source: string;
  sql: string;
  expectation: string;
  evaluate(rows: Row[]): { passed: boolean; detail: string };
}

/**
 * Runs the runbook's verification queries for a target, each on its own (a failing query fails
 * its check, not the run), and judges each against its expectation. `preflight` runs only the
 * two preflight queries and expects only the Phase 1 table, as before the base migration.
 *
 * @example
 * const result = await verifyRollout(db, 'single_db');
 * if (!result.passed) console.log(result.checks.filter((check) => !check.passed));
 */
export async function verifyRollout(
  db: Db,
  target: RolloutTarget,
  options: { preflight?: boolean } = {},
): Promise<VerificationResult> {
  const checks: VerificationCheck[] = [];
  const definitions = options.preflight ? preflightDefinitions() : checkDefinitions(target);
  for (const definition of definitions) {
    try {
      const { rows } = await db.query(definition.sql);
      checks.push({ ...pick(definition), rows, ...definition.evaluate(rows) });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      checks.push({
        ...pick(definition),
        rows: [],
        passed: false,
        detail: `query failed: ${reason}`,
      });
    }
  }
  return {
    target,
    preflight: options.preflight ?? false,
    passed: checks.every((check) => check.passed),
    checks,
  };
}

function pick({ name, source, sql, expectation }: CheckDefinition) {
  return { name, source, sql, expectation };
}

/** The checks of a target, in runbook order. */
export function checkDefinitions(target: RolloutTarget): CheckDefinition[] {
  const single = target === 'single_db';
  const routed = single ? 'prod' : target;
  return [
    {
      name: 'preflight_tables',
      source: 'runbook: preflight',
      sql: PREFLIGHT_TABLES,
      expectation: `tables exist: ${REQUIRED_TABLES.join(', ')}`,
      evaluate: (rows) =>
        missing(
          REQUIRED_TABLES,
          rows.map((row) => String(row.table_name)),
        ),
    },
    {
      name: 'preflight_columns',
      source: 'runbook: preflight',
      sql: PREFLIGHT_COLUMNS,
      expectation: `columns exist: ${Object.entries(REQUIRED_COLUMNS)
        .map(([table, columns]) => `${table} (${columns.length})`)
        .join(', ')}`,
      evaluate: (rows) =>
        missing(
          Object.entries(REQUIRED_COLUMNS).flatMap(([table, columns]) =>
            columns.map((column) => `${table}.${column}`),
          ),
          rows.map((row) => `${String(row.table_name)}.${String(row.column_name)}`),
        ),
    },
    {
      name: 'provider_configs',
      source: single ? 'runbook: verify single DB' : 'runbook: verify staging',
      sql: single ? SINGLE_DB_PROVIDERS : STAGING_PROD_PROVIDERS,
      expectation: `${routed} has at least one enabled provider`,
      evaluate: (rows) => {
        const enabled = rows
          .filter((row) => row.environment === routed && row.enabled === true)
          .map((row) => String(row.provider));
        return enabled.length > 0
          ? { passed: true, detail: `enabled in ${routed}: ${enabled.join(', ')}` }
          : { passed: false, detail: `no enabled provider in ${routed}` };
      },
    },
    single
      ? {
          name: 'single_db_counts',
          source: 'runbook: verify single DB',
          sql: SINGLE_DB_COUNTS,
          expectation: 'prod_default_count = 1 and non_prod_enabled_count = 0',
          evaluate: (rows) => {
            const prod = Number(rows[0]?.prod_default_count);
            const nonProd = Number(rows[0]?.non_prod_enabled_count);
            const detail = `prod_default_count = ${prod}, non_prod_enabled_count = ${nonProd}`;
            return { passed: prod === 1 && nonProd === 0, detail };
          },
        }
      : {
          name: 'default_count',
          source: `runbook: verify ${target}`,
          sql: forEnvironments(STAGING_DEFAULT_COUNT, [target]),
          expectation: `default_count = 1 in ${target}`,
          evaluate: (rows) => {
            const count = Number(rows[0]?.default_count);
            return { passed: count === 1, detail: `default_count = ${count}` };
          },
        },
    {
      name: 'defaults_per_environment',
      source: 'genloop: release gate',
      sql: DEFAULTS_PER_ENVIRONMENT,
      expectation: 'exactly one default in every environment that has enabled providers',
      evaluate: (rows) => {
        const wrong = rows.filter(
          (row) => Number(row.enabled_count) > 0 && Number(row.default_count) !== 1,
        );
        return wrong.length === 0
          ? { passed: true, detail: `${rows.length} environment(s) checked` }
          : {
              passed: false,
              detail: wrong
                .map(
                  (row) => `${String(row.environment)} has ${Number(row.default_count)} defaults`,
                )
                .join('; '),
            };
      },
    },
    {
      name: 'eval_objects',
      source: single ? 'runbook: verify single DB' : 'runbook: verify staging',
      sql: EVAL_OBJECTS,
      expectation: 'ai_eval_runs, ai_eval_samples, ai_eval_run_summary_v1 are not null',
      evaluate: (rows) => {
        const row = rows[0] ?? {};
        const absent = ['ai_eval_runs', 'ai_eval_samples', 'ai_eval_run_summary_v1'].filter(
          (name) => row[name] === null || row[name] === undefined,
        );
        return absent.length === 0
          ? { passed: true, detail: 'all three exist' }
          : { passed: false, detail: `missing: ${absent.join(', ')}` };
      },
    },
    {
      name: 'indexes',
      source: 'runbook: verify staging',
      sql: INDEXES,
      expectation: `the ${REQUIRED_INDEXES.length} provider routing indexes on ai_training_examples exist`,
      evaluate: (rows) =>
        missing(
          REQUIRED_INDEXES,
          rows.map((row) => String(row.indexname)),
        ),
    },
  ];
}

/**
 * The preflight, before the base migration: the Phase 1 table must exist; what Phase 2 already
 * has is reported, not required.
 */
export function preflightDefinitions(): CheckDefinition[] {
  const phase2Columns = Object.entries(REQUIRED_COLUMNS).flatMap(([table, columns]) =>
    columns.map((column) => `${table}.${column}`),
  );
  return [
    {
      name: 'preflight_tables',
      source: 'runbook: preflight',
      sql: PREFLIGHT_TABLES,
      expectation: 'ai_training_examples exists (Phase 1 baseline)',
      evaluate: (rows) => {
        const found = new Set(rows.map((row) => String(row.table_name)));
        const absent = REQUIRED_TABLES.filter((name) => !found.has(name));
        return {
          passed: found.has('ai_training_examples'),
          detail: absent.length === 0 ? 'all 4 present' : `not yet present: ${absent.join(', ')}`,
        };
      },
    },
    {
      name: 'preflight_columns',
      source: 'runbook: preflight',
      sql: PREFLIGHT_COLUMNS,
      expectation: 'ai_training_examples has columns (Phase 2 columns are reported)',
      evaluate: (rows) => {
        const found = new Set(
          rows.map((row) => `${String(row.table_name)}.${String(row.column_name)}`),
        );
        const present = phase2Columns.filter((column) => found.has(column)).length;
        return {
          passed: rows.some((row) => row.table_name === 'ai_training_examples'),
          detail: `${present} of ${phase2Columns.length} Phase 2 columns present`,
        };
      },
    },
  ];
}

function missing(
  required: readonly string[],
  found: string[],
): { passed: boolean; detail: string } {
  const present = new Set(found);
  const absent = required.filter((name) => !present.has(name));
  return absent.length === 0
    ? { passed: true, detail: `all ${required.length} present` }
    : { passed: false, detail: `missing: ${absent.join(', ')}` };
}
