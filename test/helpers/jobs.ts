import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/types.ts';

/** Inserts pending flashcard jobs (as the service) with their quota reservations. */
export async function insertPendingJobs(
  db: Db,
  count: number,
  options: { userId?: string; maxAttempts?: number } = {},
): Promise<string[]> {
  const userId = options.userId ?? randomUUID();
  const ids = Array.from({ length: count }, () => randomUUID());
  await db.query(
    `insert into ai_generations (id, user_id, recipe, source_text, max_attempts)
     select id, $2, 'flashcards', repeat('a', 1000), $3 from unnest($1::uuid[]) as id`,
    [ids, userId, options.maxAttempts ?? 3],
  );
  await db.query(
    `insert into usage_ledger (user_id, generation_id, kind, amount, idempotency_key)
     select $2, id, 'reserve', -1, 'reserve:' || id from unnest($1::uuid[]) as id`,
    [ids, userId],
  );
  return ids;
}
