import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { submitJob } from '../../src/jobs/submit.ts';
import { claimJobs } from '../../src/sql/claim-jobs.ts';
import { describeEachStack, type Stack } from '../helpers/stack.ts';

const SOURCE = 'The Danube flows through ten countries. Vienna and Budapest lie on it. '.repeat(20);

async function orphanedJob(stack: Stack): Promise<string> {
  const { db } = stack.database;
  const job = await submitJob(db, {
    claims: { sub: randomUUID(), role: 'authenticated' },
    recipe: 'flashcards',
    row: { id: randomUUID(), source_text: SOURCE, request_id: randomUUID() },
    monthlyQuota: 10,
  });
  // Claimed by a worker that was killed at once: no heartbeat, no release, the lease runs out.
  const [claimed] = await claimJobs(db, {
    workerId: 'killed-worker',
    limit: 1,
    leaseMs: 50,
    recipes: ['flashcards'],
  });
  expect(claimed?.id).toBe(job.id);
  // Expired by more than its length.
  await new Promise((resolve) => setTimeout(resolve, 150));
  return job.id;
}

describeEachStack('a worker reaps when it starts', (use) => {
  it('a job left running with an expired lease is reclaimed by a worker stopped before any tick', async () => {
    const stack = use();
    const id = await orphanedJob(stack);
    // Intervals far longer than the worker lives: only the reap on start can find the job.
    const worker = await stack.startWorker({ leaseMs: 60_000, pollMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await worker.stop();
    const { db } = stack.database;
    const { rows } = await db.query<{ status: string; attempts: number }>(
      'select status, attempts from ai_generations where id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ status: 'succeeded', attempts: 2 });
    const ledger = await db.query<{ kind: string }>(
      'select kind from usage_ledger where generation_id = $1 order by kind',
      [id],
    );
    expect(ledger.rows.map((row) => row.kind)).toEqual(['reserve', 'settle']);
    const telemetry = await db.query(
      'select 1 from ai_training_examples where generation_id = $1',
      [id],
    );
    expect(telemetry.rowCount).toBe(1);
  });

  it('workers crash-looping (started and stopped at once, over and over) still reclaim it once', async () => {
    const stack = use();
    const id = await orphanedJob(stack);
    for (let restart = 0; restart < 3; restart++) {
      const worker = await stack.startWorker({ leaseMs: 60_000, pollMs: 60_000 });
      await worker.stop();
    }
    const { rows } = await stack.database.db.query<{ status: string; attempts: number }>(
      'select status, attempts from ai_generations where id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ status: 'succeeded', attempts: 2 });
  });
});
