import { expect, it } from 'vitest';
import { claimJobs, heartbeatJobs, releaseJobs } from '../../src/sql/claim-jobs.ts';
import { finishJob } from '../../src/sql/finish-job.ts';
import { reapJobs } from '../../src/sql/reap-jobs.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { insertPendingJobs } from '../helpers/jobs.ts';

const recipes = ['flashcards'];

describeEachDriver('job queue', (use) => {
  it('K workers claiming M jobs at once: every job claimed exactly once', async () => {
    const { db } = use();
    const ids = await insertPendingJobs(db, 60);
    const workers = Array.from({ length: 6 }, (_, index) => `worker-${index}`);
    const claimed = (
      await Promise.all(
        workers.flatMap((workerId) =>
          Array.from({ length: 4 }, () =>
            claimJobs(db, { workerId, limit: 5, leaseMs: 30_000, recipes }),
          ),
        ),
      )
    ).flat();
    const claimedIds = claimed.map((job) => job.id).filter((id) => ids.includes(id));
    expect(new Set(claimedIds).size).toBe(claimedIds.length);
    expect(claimedIds.length).toBe(60);
    const { rows } = await db.query<{ status: string; attempts: number }>(
      'select status, attempts from ai_generations where id = any($1::uuid[])',
      [ids],
    );
    expect(rows.every((row) => row.status === 'running' && row.attempts === 1)).toBe(true);
  });

  it('claims the longest-waiting runnable jobs first, and none that are not yet due', async () => {
    const { db } = use();
    // Jobs left pending by earlier tests would be older than these: claim them out of the way.
    await claimJobs(db, { workerId: 'sweeper', limit: 1_000, leaseMs: 60_000, recipes });
    const ids = await insertPendingJobs(db, 4);
    await db.query(
      `update ai_generations
          set run_after = now() + make_interval(secs => (array[-30, -10, -20, 60])[position])
         from unnest($1::uuid[]) with ordinality as job(id, position)
        where ai_generations.id = job.id`,
      [ids],
    );
    const first = await claimJobs(db, { workerId: 'fifo', limit: 2, leaseMs: 60_000, recipes });
    expect(first.map((job) => job.id).sort()).toEqual([ids[0], ids[2]].sort());
    const next = await claimJobs(db, { workerId: 'fifo', limit: 10, leaseMs: 60_000, recipes });
    expect(next.map((job) => job.id)).toEqual([ids[1]]);
  });

  it('a lease not yet expired is not reclaimed; an expired one is re-queued', async () => {
    const { db } = use();
    const [id] = await insertPendingJobs(db, 1);
    const [job] = await claimJobs(db, { workerId: 'first', limit: 10, leaseMs: 60_000, recipes });
    expect(job?.id).toBe(id);
    expect(await reapJobs(db, { runningTimeoutMs: 600_000, recipes })).toMatchObject({
      requeued: 0,
    });
    expect(
      await claimJobs(db, { workerId: 'second', limit: 10, leaseMs: 60_000, recipes }),
    ).toEqual([]);

    await db.query(
      `update ai_generations set lease_until = now() - interval '1 second' where id = $1`,
      [id],
    );
    expect(await reapJobs(db, { runningTimeoutMs: 600_000, recipes })).toMatchObject({
      requeued: 1,
    });
    const [again] = await claimJobs(db, {
      workerId: 'second',
      limit: 10,
      leaseMs: 60_000,
      recipes,
    });
    expect(again).toMatchObject({ id, attempts: 2 });
    // The first worker lost the job: its completion is refused.
    expect(await finishJob(db, id!, 'first', { status: 'succeeded' })).toBe(false);
    expect(await finishJob(db, id!, 'second', { status: 'succeeded' })).toBe(true);
  });

  it('at max attempts an expired job fails and its quota is refunded exactly once', async () => {
    const { db } = use();
    const [id] = await insertPendingJobs(db, 1, { maxAttempts: 1 });
    await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, recipes });
    await db.query(
      `update ai_generations set lease_until = now() - interval '1 second' where id = $1`,
      [id],
    );
    expect(await reapJobs(db, { runningTimeoutMs: 600_000, recipes })).toMatchObject({ failed: 1 });
    expect(await reapJobs(db, { runningTimeoutMs: 600_000, recipes })).toMatchObject({ failed: 0 });
    const job = await db.query<{ status: string; error: { code: string } }>(
      'select status, error from ai_generations where id = $1',
      [id],
    );
    expect(job.rows[0]).toMatchObject({ status: 'failed', error: { code: 'lease_expired' } });
    const ledger = await db.query<{ kind: string; amount: number }>(
      'select kind, amount from usage_ledger where generation_id = $1 order by created_at, kind',
      [id],
    );
    expect(ledger.rows.map((row) => `${row.kind}:${row.amount}`).sort()).toEqual([
      'refund:1',
      'reserve:-1',
    ]);
  });

  it('a job running past the time limit is timed out and refunded', async () => {
    const { db } = use();
    const [id] = await insertPendingJobs(db, 1);
    await claimJobs(db, { workerId: 'w', limit: 10, leaseMs: 60_000, recipes });
    await db.query(
      `update ai_generations set started_at = now() - interval '11 minutes' where id = $1`,
      [id],
    );
    expect(await reapJobs(db, { runningTimeoutMs: 600_000, recipes })).toMatchObject({
      timedOut: 1,
    });
    const { rows } = await db.query<{ status: string }>(
      'select status from ai_generations where id = $1',
      [id],
    );
    expect(rows[0]?.status).toBe('timed_out');
    const refunds = await db.query(
      `select 1 from usage_ledger where generation_id = $1 and kind = 'refund'`,
      [id],
    );
    expect(refunds.rowCount).toBe(1);
  });

  it('heartbeat extends only held leases; release gives jobs back', async () => {
    const { db } = use();
    const ids = await insertPendingJobs(db, 2);
    const claimed = await claimJobs(db, { workerId: 'hb', limit: 2, leaseMs: 1_000, recipes });
    expect(claimed.map((job) => job.id).sort()).toEqual([...ids].sort());
    expect((await heartbeatJobs(db, { workerId: 'other', ids, leaseMs: 60_000 })).length).toBe(0);
    expect((await heartbeatJobs(db, { workerId: 'hb', ids, leaseMs: 60_000 })).sort()).toEqual(
      [...ids].sort(),
    );
    expect(await releaseJobs(db, { workerId: 'hb', ids })).toBe(2);
    const { rows } = await db.query<{ status: string; attempts: number }>(
      'select status, attempts from ai_generations where id = any($1::uuid[])',
      [ids],
    );
    expect(rows.every((row) => row.status === 'pending' && row.attempts === 0)).toBe(true);
  });
});
