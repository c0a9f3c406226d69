import type { Claims } from '../db/context.ts';
import type { Db, Queryable } from '../db/types.ts';
import { newId } from '../lib/uuid.ts';
import { decideRateLimit, lockRecentHitsSql, storeHitsSql } from '../sql/rate-limit.ts';
import {
  monthlyBalanceSql,
  reserveGeneration,
  reserveGenerationSql,
  usageFromBalance,
} from '../sql/usage.ts';

/** Why a submission was refused; the HTTP layer maps each to its status code. */
export class SubmitRefused extends Error {
  override readonly name = 'SubmitRefused';
  constructor(
    readonly code: 'rate_limited' | 'quota_exceeded' | 'job_in_flight',
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface SubmitJobInput {
  claims: Claims;
  recipe: 'flashcards' | 'interior' | 'site';
  /** Columns of the new ai_generations row (`user_id` is always the caller's `sub`). */
  row: {
    id: string;
    source_text?: string | null;
    model?: string | null;
    prompt_version?: string | null;
    mode?: string | null;
    input?: Record<string, unknown>;
    request_id: string;
    idempotency_key?: string | null;
  };
  rateLimit?: { limit: number; windowMs: number };
  monthlyQuota: number;
  /** At most this many of the user's jobs of this recipe pending or running (none when absent). */
  inFlightLimit?: number;
  /**
   * The job's dollar reservation, taken in this transaction after the other checks (so a refusal
   * of any kind queues nothing and reserves nothing). `reserve` throws the 402 when the budget
   * cannot cover the job, and answers whether it reserved; when it did, `input` is merged into
   * the row's input (the output cap the reservation was made for, which the worker sends).
   */
  budget?: {
    reserve(tx: Queryable, jobId: string): Promise<boolean>;
    input?: Record<string, unknown>;
  };
  /** Extra statements in the same transaction, as the service (uploads, prediction ids). */
  alsoWrite?: (tx: Queryable) => Promise<void>;
  /**
   * The request's Idempotency-Key, taken and recorded in this transaction so the key and the job
   * commit or vanish together; `accepted` is the body the route answers with, which retries replay.
   */
  idempotency?: {
    key: SubmitIdempotencyKey | undefined;
    accepted: (job: { id: string; status: 'pending' }) => unknown;
  };
}

/** An Idempotency-Key held for one submission (the idempotency middleware's `HeldKey`). */
export interface SubmitIdempotencyKey {
  /** First statement: takes the key or throws (409 while held, 422 for another request). */
  take(tx: Queryable): Promise<void>;
  /** Last statement: records the response retries replay. */
  settle(
    tx: Queryable,
    response: { status: number; body: unknown; resourceId: string },
  ): Promise<void>;
}

/**
 * Accepts a job in one transaction: rate-limit slot, in-flight check and quota reservation
 * (serialised per user by an advisory lock, so racing requests for the last unit cannot both
 * win), the dollar reservation when a budget applies, then the `ai_generations` row and the
 * ledger reservation. Any refusal rolls back all of
 * it. A trigger NOTIFYs the workers.
 *
 * The row is written by genloop's own role, with `user_id` taken from the verified token: the
 * `authenticated` role cannot insert jobs at all, since a job queued around these checks would
 * run with no rate limit, no reservation and no moderation.
 *
 * Submission latency is mostly round trips, so the steps share statements where that changes
 * nothing: the lock with the creation of the rate-limit row; every check's read in one
 * statement whose snapshot is taken after the lock; the rate-limit hit with
 * the ledger reservation (a refusal or failure in between rolls both back anyway).
 */
export async function submitJob(
  db: Db,
  input: SubmitJobInput,
): Promise<{ id: string; status: 'pending' }> {
  const userId = input.claims.sub;
  const { rateLimit, inFlightLimit } = input;
  const rateLimitKey = `${input.recipe}:${userId}`;
  const idempotencyKey = input.idempotency?.key;
  return db.transaction(async (tx) => {
    // Before the user's lock: a duplicate of a submission still running is answered 409 at once
    // instead of queueing behind it.
    await idempotencyKey?.take(tx);
    // The lock comes first, in its own statement: the checks below read from a snapshot taken
    // after it is granted, so they see everything the user's previous submission committed.
    const lockKey = `genloop:user:${userId}`;
    if (rateLimit) {
      // Creating the rate-limit row (so it can be locked below) is the lock's statement.
      await tx.query(
        `insert into public.rate_limits (key)
         select $2::text from pg_advisory_xact_lock(hashtextextended($1, 0))
         on conflict (key) do nothing`,
        [lockKey, rateLimitKey],
      );
    } else {
      await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey]);
    }
    const checks = await readChecks(tx, input, rateLimitKey);

    let recentHits: Date[] = [];
    if (rateLimit) {
      const { recent, ...decision } = decideRateLimit(checks.rateLimit, rateLimit);
      if (!decision.allowed) {
        throw new SubmitRefused(
          'rate_limited',
          `at most ${rateLimit.limit} ${input.recipe} generations per ${Math.round(rateLimit.windowMs / 1000)} s`,
          decision.retryAfterMs,
        );
      }
      recentHits = recent;
    }
    if (inFlightLimit !== undefined && (checks.inFlight ?? 0) >= inFlightLimit) {
      throw new SubmitRefused(
        'job_in_flight',
        `another ${input.recipe} generation is still in progress`,
      );
    }
    if (usageFromBalance(checks.balance, input.monthlyQuota).remaining <= 0) {
      throw new SubmitRefused(
        'quota_exceeded',
        `the monthly allowance of ${input.monthlyQuota} generations is used up`,
      );
    }

    const budgeted = (await input.budget?.reserve(tx, input.row.id)) ?? false;
    const rowInput = budgeted
      ? { ...input.row.input, ...input.budget?.input }
      : (input.row.input ?? {});

    await tx.query(
      `insert into public.ai_generations
         (id, user_id, recipe, source_text, model, prompt_version, mode, input, request_id, idempotency_key)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        input.row.id,
        userId,
        input.recipe,
        input.row.source_text ?? null,
        input.row.model ?? null,
        input.row.prompt_version ?? null,
        input.row.mode ?? null,
        JSON.stringify(rowInput),
        input.row.request_id,
        input.row.idempotency_key ?? null,
      ],
    );
    if (rateLimit) {
      await tx.query(
        `with hit as (${storeHitsSql('$3', '$4', 'true')})
         ${reserveGenerationSql('$1', '$2', '$5')}`,
        [userId, input.row.id, rateLimitKey, recentHits, newId()],
      );
    } else {
      await reserveGeneration(tx, userId, input.row.id);
    }
    await input.alsoWrite?.(tx);
    const job = { id: input.row.id, status: 'pending' as const };
    if (idempotencyKey) {
      await idempotencyKey.settle(tx, {
        status: 202,
        body: input.idempotency!.accepted(job),
        resourceId: job.id,
      });
    }
    return job;
  });
}

interface Checks {
  /** The rate-limit row's recent hits (undefined without a rate limit or without the row). */
  rateLimit: { recent: Date[]; now: Date } | undefined;
  inFlight: number | null;
  balance: number;
}

/**
 * One statement for every check's read, from a snapshot taken after the lock: the rate-limit
 * row (locked for update), the user's jobs in flight and the month's ledger balance.
 */
async function readChecks(
  tx: Queryable,
  input: SubmitJobInput,
  rateLimitKey: string,
): Promise<Checks> {
  const params: unknown[] = [input.claims.sub];
  const param = (value: unknown) => `$${params.push(value)}`;
  const rateLimitRead = input.rateLimit
    ? `(${lockRecentHitsSql(param(rateLimitKey), param(input.rateLimit.windowMs))})`
    : '(select null::timestamptz[] as recent, null::timestamptz as now)';
  const inFlightRead =
    input.inFlightLimit === undefined
      ? 'null::int'
      : `(select count(*)::int from public.ai_generations
           where user_id = $1 and recipe = ${param(input.recipe)} and status in ('pending', 'running'))`;
  const { rows } = await tx.query<{
    recent: Date[] | null;
    now: Date | null;
    in_flight: number | null;
    balance: number;
  }>(
    `select rate_limit.recent, rate_limit.now, ${inFlightRead} as in_flight,
            (${monthlyBalanceSql('$1')}) as balance
       from (values (1)) as one (x)
       left join lateral ${rateLimitRead} as rate_limit on true`,
    params,
  );
  const row = rows[0]!;
  return {
    rateLimit: row.recent && row.now ? { recent: row.recent, now: row.now } : undefined,
    inFlight: row.in_flight,
    balance: row.balance,
  };
}
