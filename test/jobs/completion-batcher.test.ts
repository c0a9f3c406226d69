import { expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/types.ts';
import { CompletionBatcher } from '../../src/jobs/completion-batcher.ts';
import { type BatchWriter, batched, type JobOutcome } from '../../src/jobs/types.ts';
import { type ClaimedJob, claimJobs } from '../../src/sql/claim-jobs.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { insertPendingJobs } from '../helpers/jobs.ts';

/** Suggestions of many jobs in one statement, as the flashcard recipe writes them. */
const suggestions: BatchWriter<{ job: ClaimedJob; fronts: string[] }> = {
  async write(tx, items) {
    const rows = items.flatMap(({ job, fronts }) =>
      fronts.map((front, index) => ({ id: job.id, user: job.user_id, position: index + 1, front })),
    );
    await tx.query(
      `insert into ai_suggestions (generation_id, user_id, position, front, back)
       select * from unnest($1::uuid[], $2::uuid[], $3::integer[], $4::text[], $4::text[])`,
      [
        rows.map((row) => row.id),
        rows.map((row) => row.user),
        rows.map((row) => row.position),
        rows.map((row) => row.front),
      ],
    );
  },
};

function succeeded(job: ClaimedJob, fronts: string[]): JobOutcome {
  return {
    result: { status: 'succeeded', output: { cards: fronts.length } },
    results: batched(suggestions, { job, fronts }),
  };
}

/** The database, counting the transactions opened on it. */
function counting(db: Db): { db: Db; transactions: () => number } {
  let count = 0;
  return {
    db: {
      ...db,
      transaction<T>(fn: (tx: Queryable) => Promise<T>) {
        count++;
        return db.transaction(fn);
      },
    },
    transactions: () => count,
  };
}

async function effects(db: Db, ids: readonly string[]) {
  const { rows } = await db.query<{
    id: string;
    status: string;
    suggestions: number;
    finals: string[];
  }>(
    `select g.id, g.status,
            (select count(*)::int from ai_suggestions s where s.generation_id = g.id) as suggestions,
            array(select kind from usage_ledger l
                   where l.generation_id = g.id and kind <> 'reserve' order by kind) as finals
       from ai_generations g where g.id = any($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/** Claims `count` fresh jobs for `workerId`, in insertion order of their ids. */
async function claimFresh(db: Db, workerId: string, count: number): Promise<ClaimedJob[]> {
  const ids = await insertPendingJobs(db, count);
  const jobs = await claimJobs(db, {
    workerId,
    limit: count,
    leaseMs: 60_000,
    recipes: ['flashcards'],
  });
  expect(jobs.map((job) => job.id).sort()).toEqual([...ids].sort());
  return ids.map((id) => jobs.find((job) => job.id === id)!);
}

describeEachDriver('completion batcher', (use) => {
  it('jobs that finish while a completion is being written share the next transaction', async () => {
    const { db: base } = use();
    const { db, transactions } = counting(base);
    const [first, ...rest] = await claimFresh(base, 'group', 4);
    const batcher = new CompletionBatcher({ db, workerId: 'group' });
    const pending = [first!, ...rest].map((job) =>
      batcher.complete(job, succeeded(job, ['a', 'b'])),
    );
    expect(await Promise.all(pending)).toEqual([true, true, true, true]);
    // The first alone (nothing to wait for), the three that arrived meanwhile together.
    expect(transactions()).toBe(2);
    const after = await effects(
      base,
      [first!, ...rest].map((job) => job.id),
    );
    for (const row of after.values()) {
      expect(row).toMatchObject({ status: 'succeeded', suggestions: 2, finals: ['settle'] });
    }
  });

  it("one job's failing write does not lose the others of its group; it alone stays unfinished", async () => {
    const { db } = use();
    const [first, good1, bad, good2] = await claimFresh(db, 'mixed', 4);
    const batcher = new CompletionBatcher({ db, workerId: 'mixed' });
    const firstDone = batcher.complete(first!, succeeded(first!, ['a']));
    const good1Done = batcher.complete(good1!, succeeded(good1!, ['a', 'b']));
    // An empty front breaks a CHECK constraint: the group's statement fails as a whole.
    const badDone = batcher.complete(bad!, succeeded(bad!, ['a', ''])).catch((error) => error);
    const good2Done = batcher.complete(good2!, succeeded(good2!, ['a', 'b', 'c']));
    expect(await firstDone).toBe(true);
    expect(await good1Done).toBe(true);
    expect(await good2Done).toBe(true);
    expect(String(await badDone)).toMatch(/violates check constraint/);

    const after = await effects(db, [good1!.id, bad!.id, good2!.id]);
    expect(after.get(good1!.id)).toMatchObject({ status: 'succeeded', suggestions: 2 });
    expect(after.get(good2!.id)).toMatchObject({ status: 'succeeded', suggestions: 3 });
    expect(after.get(good1!.id)!.finals).toEqual(['settle']);
    expect(after.get(good2!.id)!.finals).toEqual(['settle']);
    // Nothing of the bad job was written: it is still running, so its lease will expire and
    // the reaper hands it out again (or fails and refunds it at max attempts).
    expect(after.get(bad!.id)).toMatchObject({ status: 'running', suggestions: 0, finals: [] });
  });

  it('a job this worker no longer holds is left out; the rest of the group completes', async () => {
    const { db } = use();
    const [first, kept, stolen, failed] = await claimFresh(db, 'holder', 4);
    // The lease of one job expired and another worker took it over.
    await db.query(`update ai_generations set locked_by = 'other' where id = $1`, [stolen!.id]);
    const batcher = new CompletionBatcher({ db, workerId: 'holder' });
    const done = await Promise.all([
      batcher.complete(first!, succeeded(first!, ['a'])),
      batcher.complete(kept!, succeeded(kept!, ['a', 'b'])),
      batcher.complete(stolen!, succeeded(stolen!, ['a', 'b'])),
      batcher.complete(failed!, {
        result: { status: 'failed', error: { code: 'provider_error', message: 'no provider' } },
      }),
    ]);
    expect(done).toEqual([true, true, false, true]);
    const after = await effects(db, [kept!.id, stolen!.id, failed!.id]);
    expect(after.get(kept!.id)).toMatchObject({ status: 'succeeded', suggestions: 2 });
    expect(after.get(kept!.id)!.finals).toEqual(['settle']);
    expect(after.get(stolen!.id)).toMatchObject({ status: 'running', suggestions: 0, finals: [] });
    // A failed job gets its reservation back and writes no results.
    expect(after.get(failed!.id)).toMatchObject({ status: 'failed', suggestions: 0 });
    expect(after.get(failed!.id)!.finals).toEqual(['refund']);
  });
});
