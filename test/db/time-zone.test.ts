import { expect, it } from 'vitest';
import type { Db } from '../../src/db/types.ts';
import { rollbackProviders } from '../../src/rollout/rollback.ts';
import { claimJobs } from '../../src/sql/claim-jobs.ts';
import { finishJobs } from '../../src/sql/finish-job.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { insertPendingJobs } from '../helpers/jobs.ts';

/** `db` with every statement run in a session whose time zone is `zone`. */
function inZone(db: Db, zone: string): Db {
  const setZone = `set local time zone '${zone}'`;
  const transaction: Db['transaction'] = (fn) =>
    db.transaction(async (tx) => {
      await tx.query(setZone);
      return fn(tx);
    });
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'transaction') return transaction;
      if (property === 'query') {
        return (text: string, params?: readonly unknown[]) =>
          transaction((tx) => tx.query(text, params));
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

describeEachDriver('timestamps in a session whose time zone is not UTC', (use) => {
  it("no timestamptz column default of genloop's tables depends on the session's time zone", async () => {
    const { rows } = await use().db.query<{ name: string }>(
      `select table_name || '.' || column_name as name
         from information_schema.columns
        where table_schema = 'public' and data_type = 'timestamp with time zone'
          and column_default like '%timezone(%'
        order by 1`,
    );
    expect(rows.map((row) => row.name)).toEqual([]);
  });

  it('a job submitted in New York is claimed at once, and its times are the present', async () => {
    const { db } = use();
    const newYork = inZone(db, 'America/New_York');
    const [id] = await insertPendingJobs(newYork, 1);

    const claimed = await claimJobs(newYork, {
      workerId: 'worker-ny',
      limit: 10,
      leaseMs: 60_000,
      recipes: ['flashcards'],
    });
    expect(claimed.map((job) => job.id)).toEqual([id]);
    const held = await newYork.transaction((tx) =>
      finishJobs(tx, 'worker-ny', [{ id: id!, result: { status: 'succeeded', output: {} } }]),
    );
    expect(held).toEqual([id]);

    // Read back in a UTC session: every time the row holds is within a minute of now.
    const { rows } = await db.query<{ name: string; seconds: number }>(
      `select c.name, abs(extract(epoch from c.at - now()))::float8 as seconds
         from ai_generations g,
              lateral (values ('created_at', g.created_at), ('run_after', g.run_after),
                              ('started_at', g.started_at), ('finished_at', g.finished_at),
                              ('updated_at', g.updated_at)) as c(name, at)
        where g.id = $1`,
      [id],
    );
    expect(Object.fromEntries(rows.map((row) => [row.name, row.seconds < 60]))).toEqual({
      created_at: true,
      run_after: true,
      started_at: true,
      finished_at: true,
      updated_at: true,
    });
  });

  it('the updated_at trigger and the ledger default write the present in any zone', async () => {
    const { db } = use();
    const tokyo = inZone(db, 'Asia/Tokyo');
    const [id] = await insertPendingJobs(tokyo, 1);
    await tokyo.query(`update ai_generations set max_attempts = 5 where id = $1`, [id]);
    const { rows } = await db.query<{ updated: number; ledger: number }>(
      `select abs(extract(epoch from g.updated_at - now()))::float8 as updated,
              abs(extract(epoch from l.created_at - now()))::float8 as ledger
         from ai_generations g
         join usage_ledger l on l.generation_id = g.id
        where g.id = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.updated).toBeLessThan(60);
    expect(rows[0]!.ledger).toBeLessThan(60);
  });

  it("the runbook's P0 rollback, run by genloop in a New York session, stamps the present", async () => {
    const { db } = use();
    await rollbackProviders(inZone(db, 'America/New_York'), 'prod', { operator: 'tz-test' });
    const { rows } = await db.query<{ seconds: number }>(
      `select abs(extract(epoch from updated_at - now()))::float8 as seconds
         from ai_provider_configs where environment = 'prod' and provider = 'openai'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.seconds).toBeLessThan(60);
  });
});
