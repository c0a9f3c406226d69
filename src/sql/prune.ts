import type { Db, Queryable } from '../db/types.ts';

/** Rows removed (or, in a dry run, that would be removed) per table. */
export interface PruneCounts {
  trainingExamples: number;
  providerAttempts: number;
}

/**
 * What `pruneTelemetry` would delete for `cutoff`: training rows older than it with their
 * attempts, and old attempts that no kept training row links to.
 */
export async function countPrunable(db: Queryable, cutoff: Date): Promise<PruneCounts> {
  const { rows } = await db.query<{ training_examples: number; provider_attempts: number }>(
    `select
       (select count(*) from public.ai_training_examples where created_at < $1)::bigint::float8
         as training_examples,
       ((select count(*)
           from public.ai_provider_attempts a
           join public.ai_training_examples e on e.id = a.training_example_id
          where e.created_at < $1)
        + (select count(*)
             from public.ai_provider_attempts a
            where a.created_at < $1
              and not exists (
                select 1 from public.ai_training_examples e where e.id = a.training_example_id)))::float8
         as provider_attempts`,
    [cutoff],
  );
  const row = rows[0]!;
  return {
    trainingExamples: Number(row.training_examples),
    providerAttempts: Number(row.provider_attempts),
  };
}

/**
 * Deletes up to `batchSize` of the oldest training rows before `cutoff` and their attempts, in
 * one short transaction. `genloop.pruning` tells the rollup trigger to keep counting the rows
 * (retention, not correction). Rows another transaction holds are skipped, never waited for;
 * the next batch or the next run takes them.
 */
export async function pruneTrainingExamplesBatch(
  db: Db,
  cutoff: Date,
  batchSize: number,
): Promise<PruneCounts> {
  return db.transaction(async (tx) => {
    await tx.query(`select set_config('genloop.pruning', 'on', true)`);
    const { rows } = await tx.query<{ training_examples: number; provider_attempts: number }>(
      `with doomed as (
         select id from public.ai_training_examples
          where created_at < $1
          order by created_at
          limit $2
          for update skip locked
       ),
       attempts as (
         delete from public.ai_provider_attempts a
          using doomed d
          where a.training_example_id = d.id
         returning 1
       ),
       examples as (
         delete from public.ai_training_examples e
          using doomed d
          where e.id = d.id
         returning 1
       )
       select (select count(*) from examples)::int as training_examples,
              (select count(*) from attempts)::int as provider_attempts`,
      [cutoff, batchSize],
    );
    return {
      trainingExamples: rows[0]!.training_examples,
      providerAttempts: rows[0]!.provider_attempts,
    };
  });
}

/**
 * Deletes up to `batchSize` attempts before `cutoff` that no training row links to (written
 * before attempts carried training_example_id, or left by a delete outside the pruner). Attempts
 * of a kept training row stay with it. Returns the number deleted.
 */
export async function pruneUnlinkedAttemptsBatch(
  db: Db,
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  const { rows } = await db.query<{ deleted: number }>(
    `with doomed as (
       select a.id from public.ai_provider_attempts a
        where a.created_at < $1
          and not exists (
            select 1 from public.ai_training_examples e where e.id = a.training_example_id)
        order by a.created_at
        limit $2
        for update of a skip locked
     ),
     deleted as (
       delete from public.ai_provider_attempts a using doomed d where a.id = d.id returning 1
     )
     select count(*)::int as deleted from deleted`,
    [cutoff, batchSize],
  );
  return rows[0]!.deleted;
}

export interface PruneOptions {
  cutoff: Date;
  batchSize: number;
  /** Called after every batch with the running totals. */
  onProgress?: (totals: PruneCounts) => void;
}

/**
 * Deletes raw telemetry older than `cutoff` in batches of `batchSize`, each its own transaction,
 * so no lock is held for longer than one batch. The rollups are left as they are.
 *
 * @example
 * await pruneTelemetry(db, { cutoff: new Date(Date.now() - 90 * 86_400_000), batchSize: 5000 });
 */
export async function pruneTelemetry(db: Db, options: PruneOptions): Promise<PruneCounts> {
  const { cutoff, batchSize, onProgress } = options;
  const totals: PruneCounts = { trainingExamples: 0, providerAttempts: 0 };
  // Until a batch comes back empty, not short: skipped locked rows make a batch short too.
  for (;;) {
    const batch = await pruneTrainingExamplesBatch(db, cutoff, batchSize);
    totals.trainingExamples += batch.trainingExamples;
    totals.providerAttempts += batch.providerAttempts;
    if (batch.trainingExamples === 0) break;
    onProgress?.({ ...totals });
  }
  for (;;) {
    const deleted = await pruneUnlinkedAttemptsBatch(db, cutoff, batchSize);
    totals.providerAttempts += deleted;
    if (deleted === 0) break;
    onProgress?.({ ...totals });
  }
  return totals;
}
