import type { Claims } from '../db/context.ts';
import type { Db, Queryable } from '../db/types.ts';
import { takeRateLimitSlot } from '../sql/rate-limit.ts';
import { remainingGenerations, reserveGeneration } from '../sql/usage.ts';

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
  /** Columns of the new ai_generations row (inserted as the user, under RLS). */
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
  /** Extra statements in the same transaction, as the service (uploads, prediction ids). */
  alsoWrite?: (tx: Queryable) => Promise<void>;
}

/**
 * Accepts a job in one transaction: rate-limit slot, in-flight check and quota reservation
 * (serialised per user by an advisory lock, so racing requests for the last unit cannot both
 * win), then the `ai_generations` row inserted as the user under row-level security, then the
 * ledger reservation. Any refusal rolls back all of it. A trigger NOTIFYs the workers.
 */
export async function submitJob(
  db: Db,
  input: SubmitJobInput,
): Promise<{ id: string; status: 'pending' }> {
  const userId = input.claims.sub;
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `genloop:user:${userId}`,
    ]);
    if (input.rateLimit) {
      const decision = await takeRateLimitSlot(tx, {
        key: `${input.recipe}:${userId}`,
        limit: input.rateLimit.limit,
        windowMs: input.rateLimit.windowMs,
      });
      if (!decision.allowed) {
        throw new SubmitRefused(
          'rate_limited',
          `at most ${input.rateLimit.limit} ${input.recipe} generations per ${Math.round(input.rateLimit.windowMs / 1000)} s`,
          decision.retryAfterMs,
        );
      }
    }
    if (input.inFlightLimit !== undefined) {
      const { rows } = await tx.query<{ count: number }>(
        `select count(*)::int as count from public.ai_generations
          where user_id = $1 and recipe = $2 and status in ('pending', 'running')`,
        [userId, input.recipe],
      );
      if ((rows[0]?.count ?? 0) >= input.inFlightLimit) {
        throw new SubmitRefused(
          'job_in_flight',
          `another ${input.recipe} generation is still in progress`,
        );
      }
    }
    const { remaining } = await remainingGenerations(tx, userId, input.monthlyQuota);
    if (remaining <= 0) {
      throw new SubmitRefused(
        'quota_exceeded',
        `the monthly allowance of ${input.monthlyQuota} generations is used up`,
      );
    }

    // The row itself is written as the user, so the database checks it is theirs.
    await tx.query(
      `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`,
      [input.claims.role, JSON.stringify(input.claims)],
    );
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
        JSON.stringify(input.row.input ?? {}),
        input.row.request_id,
        input.row.idempotency_key ?? null,
      ],
    );
    await tx.query('reset role');
    await reserveGeneration(tx, userId, input.row.id);
    await input.alsoWrite?.(tx);
    return { id: input.row.id, status: 'pending' as const };
  });
}
