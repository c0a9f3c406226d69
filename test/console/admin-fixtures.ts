import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../src/db/types.ts';
import { type Stack, startStack } from '../helpers/stack.ts';

/** The API key the admin test stacks accept besides service-role tokens. */
export const API_KEY = 'console-test-api-key-0123456789abcdef';

/** A stack that also accepts {@link API_KEY}. */
export function startAdminStack(driver: 'pglite' | 'pg'): Promise<Stack> {
  return startStack(driver, { GENLOOP_API_KEYS: API_KEY });
}

export type Caller = 'service' | 'api_key' | 'user' | 'none';

/** Calls the admin API as `as` (the service role by default). */
export async function admin(
  stack: Stack,
  path: string,
  { method = 'GET', body, as = 'service' }: { method?: string; body?: unknown; as?: Caller } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (as === 'service')
    headers.authorization = `Bearer ${await stack.token(randomUUID(), 'service_role')}`;
  if (as === 'user') headers.authorization = `Bearer ${await stack.token()}`;
  if (as === 'api_key') headers.authorization = `Bearer ${API_KEY}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return stack.app.request(`/api/v1/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** The JSON body of a 200, failing with the body's text otherwise. */
export async function ok<T = Record<string, unknown>>(response: Response): Promise<T> {
  const text = await response.text();
  if (response.status !== 200) throw new Error(`expected 200, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export interface ExampleSeed {
  userId?: string;
  source?: string;
  recipe?: string;
  status?: 'succeeded' | 'failed';
  requestId?: string;
  routeStrategy?: string;
  selectedProvider?: string | null;
  fallbackProvider?: string | null;
  latencyMs?: number;
  createdAt?: Date;
  generationId?: string | null;
  /** The routing environment the row records (none by default, as rows written before it). */
  environment?: string | null;
}

/** Writes one telemetry row as a generation would (through the rollup triggers); returns its id. */
export async function insertExample(db: Queryable, seed: ExampleSeed = {}): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into public.ai_training_examples
       (user_id, source, recipe, status, request_id, route_strategy, prompt_template_version,
        selected_provider, requested_provider, fallback_provider, fallback_used, latency_ms,
        created_at, generation_id, environment)
     values ($1, $2, $3, $4, $5, $6, 'site-v1', $7, $7, $8::text, $8::text is not null, $9, $10, $11,
             $12)
     returning id`,
    [
      seed.userId ?? randomUUID(),
      seed.source ?? 'generation',
      seed.recipe ?? 'site',
      seed.status ?? 'succeeded',
      seed.requestId ?? randomUUID(),
      seed.routeStrategy ?? 'fallback',
      seed.selectedProvider === undefined ? 'openai' : seed.selectedProvider,
      seed.fallbackProvider ?? null,
      seed.latencyMs ?? 100,
      seed.createdAt ?? new Date(),
      seed.generationId ?? null,
      seed.environment ?? null,
    ],
  );
  return rows[0]!.id;
}

export interface JobSeed {
  userId?: string;
  recipe?: 'site' | 'interior';
  status?: 'pending' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'timed_out';
  /** Write the quota reservation (and, for a job that ended unsuccessfully, its refund). */
  reserved?: boolean;
  attempts?: number;
  finishedAt?: Date;
}

/** A job as the queue would hold it, with its ledger entries. */
export async function insertJob(
  db: Db,
  seed: JobSeed = {},
): Promise<{ id: string; userId: string }> {
  const userId = seed.userId ?? randomUUID();
  const status = seed.status ?? 'failed';
  const terminal = !['pending', 'running'].includes(status);
  const { rows } = await db.query<{ id: string }>(
    `insert into public.ai_generations
       (user_id, recipe, status, attempts, error, started_at, finished_at, lease_until, locked_by)
     values ($1, $2, $3, $4, $5::jsonb, case when $3 <> 'pending' then now() end,
             case when $6 then coalesce($7, now()) end,
             case when $3 = 'running' then now() + interval '1 minute' end,
             case when $3 = 'running' then 'worker-test' end)
     returning id`,
    [
      userId,
      seed.recipe ?? 'site',
      status,
      seed.attempts ?? (status === 'pending' ? 0 : 3),
      status === 'failed'
        ? JSON.stringify({ code: 'provider_failed', message: 'every provider failed' })
        : null,
      terminal,
      seed.finishedAt ?? null,
    ],
  );
  const id = rows[0]!.id;
  if (seed.reserved ?? true) {
    await db.query(
      `insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key)
       values ($1, $2::uuid, 'reserve', -1, 'reserve:' || $2::uuid::text)`,
      [userId, id],
    );
    if (terminal) {
      const refund = status !== 'succeeded';
      await db.query(
        `insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key)
         values ($1, $2::uuid, $3, $4, 'final:' || $2::uuid::text)`,
        [userId, id, refund ? 'refund' : 'settle', refund ? 1 : 0],
      );
    }
  }
  return { id, userId };
}

/** The ledger of a job: its balance and entries by kind. */
export async function ledgerOf(
  db: Queryable,
  generationId: string,
): Promise<{ balance: number; kinds: string[] }> {
  const { rows } = await db.query<{ kind: string; amount: number }>(
    `select kind, amount from public.usage_ledger where generation_id = $1 order by created_at, kind`,
    [generationId],
  );
  return {
    balance: rows.reduce((sum, row) => sum + row.amount, 0),
    kinds: rows.map((row) => row.kind).sort(),
  };
}

/**
 * An eval run with one sample per entry of `schemaValid`, finished with `status`; returns its id.
 * `thresholds` are its gates.
 */
export async function insertEvalRun(
  db: Db,
  {
    status = 'passed',
    schemaValid = [true, true],
    thresholds = { schema_valid_rate_min: 0.9 },
    schemaVariant = 'sitecraft',
  }: {
    status?: 'passed' | 'failed' | 'aborted';
    schemaValid?: boolean[];
    thresholds?: Record<string, number>;
    schemaVariant?: string;
  } = {},
): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: number }>(
      `insert into public.ai_eval_runs (run_type, schema_variant, status, thresholds, finished_at, triggered_by)
       values ('nightly', $1, $2, $3::jsonb, now(), 'test') returning id`,
      [schemaVariant, status, JSON.stringify(thresholds)],
    );
    const id = rows[0]!.id;
    for (const [index, valid] of schemaValid.entries()) {
      await tx.query(
        `insert into public.ai_eval_samples (run_id, record_id, schema_valid, fallback_used, latency_ms)
         values ($1, $2, $3, false, $4)`,
        [id, `record-${index}`, valid, 100 + index],
      );
    }
    return id;
  });
}
