import { JsonArrayParam } from '../db/params.ts';
import type { Queryable } from '../db/types.ts';

/**
 * One `ai_training_examples` row as genloop writes it: the routing fields every generation
 * records (`request_id` to `prompt_template_version`) plus genloop's own.
 */
export interface TrainingExampleRow {
  id: string;
  user_id: string | null;
  source: 'generation' | 'generation_cached';
  recipe: 'site' | 'flashcards' | 'interior' | 'gateway';
  generation_id: string | null;
  status: 'succeeded' | 'failed';
  prompt: string | null;
  input: unknown;
  output: unknown;
  model: string | null;
  request_id: string;
  requested_provider: string | null;
  selected_provider: string | null;
  route_strategy: string;
  fallback_provider: string | null;
  fallback_used: boolean;
  latency_ms: number | null;
  prompt_template_version: string;
  /** The provider the route strategy chose first (a canary's share is counted on it). */
  planned_provider?: string | null;
  /** The routing environment whose configs planned the route. */
  environment?: string | null;
  error: unknown;
  tokens_input: number | null;
  tokens_output: number | null;
  cost_usd: number | null;
  schema_valid: boolean | null;
  patch_apply_success: boolean | null;
  safety_compliant: boolean | null;
  created_at: string;
}

/** One `ai_provider_attempts` row. */
export interface ProviderAttemptRow {
  /** The `id` of its generation's training row: the key of its attempts (request_id may repeat). */
  training_example_id: string;
  request_id: string;
  generation_id: string | null;
  attempt_no: number;
  provider: string;
  model: string | null;
  status: string;
  error_class: string | null;
  http_status: number | null;
  latency_ms: number;
  ttfb_ms: number | null;
  retry_after_ms: number | null;
  error: unknown;
  /** What the call cost in USD; null when unknown. */
  cost_usd?: number | null;
  created_at: string;
}

const TRAINING_COLUMNS = `id, user_id, source, recipe, generation_id, status, prompt, input, output,
  model, request_id, requested_provider, selected_provider, route_strategy, fallback_provider,
  fallback_used, latency_ms, prompt_template_version, planned_provider, environment, error,
  tokens_input, tokens_output, cost_usd, schema_valid, patch_apply_success, safety_compliant,
  created_at`;

/** Inserts `ai_training_examples` rows from the jsonb array parameter `$param`. */
function insertTrainingSql(param: string): string {
  return `insert into public.ai_training_examples (${TRAINING_COLUMNS})
     select ${TRAINING_COLUMNS}
       from jsonb_to_recordset(${param}::jsonb) as x(
         id uuid, user_id uuid, source text, recipe text, generation_id uuid, status text, prompt text,
         input jsonb, output jsonb, model text, request_id uuid, requested_provider text,
         selected_provider text, route_strategy text, fallback_provider text, fallback_used boolean,
         latency_ms integer, prompt_template_version text, planned_provider text,
         environment text, error jsonb, tokens_input integer,
         tokens_output integer, cost_usd numeric, schema_valid boolean, patch_apply_success boolean,
         safety_compliant boolean, created_at timestamptz)
     on conflict (id) do nothing`;
}

const ATTEMPT_COLUMNS = `training_example_id, request_id, generation_id, attempt_no, provider, model,
  status, error_class, http_status, latency_ms, ttfb_ms, retry_after_ms, error, cost_usd, created_at`;

/** Inserts `ai_provider_attempts` rows from the jsonb array parameter `$param`. */
function insertAttemptsSql(param: string): string {
  return `insert into public.ai_provider_attempts (${ATTEMPT_COLUMNS})
     select ${ATTEMPT_COLUMNS}
       from jsonb_to_recordset(${param}::jsonb) as x(
         training_example_id uuid, request_id uuid, generation_id uuid, attempt_no integer,
         provider text, model text, status text, error_class text, http_status integer,
         latency_ms integer, ttfb_ms integer, retry_after_ms integer, error jsonb, cost_usd numeric,
         created_at timestamptz)
     on conflict (training_example_id, attempt_no) do nothing`;
}

const INSERT_TRAINING = insertTrainingSql('$1');
const INSERT_ATTEMPTS = insertAttemptsSql('$1');
const INSERT_BOTH = `with attempts as (${insertAttemptsSql('$2')}) ${insertTrainingSql('$1')}`;

/**
 * Inserts many training rows in one statement (one jsonb parameter expanded server-side).
 * `on conflict do nothing` on the primary key makes a retried flush harmless. A NUL character or
 * lone surrogate in any text (a provider's output, say) is stored as U+FFFD rather than losing
 * the row.
 */
export async function insertTrainingExamples(
  db: Queryable,
  rows: readonly TrainingExampleRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(INSERT_TRAINING, [JsonArrayParam.storable(rows)]);
}

/** Inserts many attempt rows in one statement; a retried flush skips rows already written. */
export async function insertProviderAttempts(
  db: Queryable,
  rows: readonly ProviderAttemptRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(INSERT_ATTEMPTS, [JsonArrayParam.storable(rows)]);
}

/**
 * Inserts attempt and training rows together in one statement, so one round trip writes a whole
 * batch atomically without a transaction of its own (and a retried batch skips what is already
 * written, as above). The attempts go in a data-modifying CTE, which Postgres runs to completion
 * whether or not the outer insert reads it; the training rows' statement-level rollup trigger
 * fires at the end of the statement, so its locks on the shared rollup rows are held only until
 * the commit that follows.
 */
export async function insertTelemetry(
  db: Queryable,
  examples: readonly TrainingExampleRow[],
  attempts: readonly ProviderAttemptRow[],
): Promise<void> {
  if (attempts.length === 0) return insertTrainingExamples(db, examples);
  if (examples.length === 0) return insertProviderAttempts(db, attempts);
  await db.query(INSERT_BOTH, [
    JsonArrayParam.storable(examples),
    JsonArrayParam.storable(attempts),
  ]);
}
