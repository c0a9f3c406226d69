import { expect, it } from 'vitest';
import type { Db } from '../../src/db/types.ts';
import { Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { insertPendingJobs } from '../helpers/jobs.ts';
import { eventually } from '../helpers/stack.ts';

describeEachDriver('worker', (use) => {
  it('a claim that fails is retried soon, not at the next poll', async () => {
    const { db } = use();
    const [id] = await insertPendingJobs(db, 1);
    // The first transaction (the first claim) fails, as on a pooled connection that was killed.
    let failNext = true;
    const flaky: Db = {
      ...db,
      transaction(fn) {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection terminated'));
        }
        return db.transaction(fn);
      },
    };
    const worker = new Worker({
      db: flaky,
      logger: createLogger({ logLevel: 'silent' }),
      handlers: { flashcards: { run: async () => ({ result: { status: 'succeeded' } }) } },
      concurrency: 1,
      leaseMs: 30_000,
      // So long that only the retry can pick the job up within the test.
      pollMs: 600_000,
      runningTimeoutMs: 600_000,
    });
    await worker.start();
    try {
      await eventually(async () => {
        const { rows } = await db.query<{ status: string }>(
          'select status from ai_generations where id = $1',
          [id],
        );
        return rows[0]!.status === 'succeeded' ? true : undefined;
      });
    } finally {
      await worker.stop(1_000);
    }
    expect(failNext).toBe(false);
  });
});
