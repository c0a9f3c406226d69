import { expect, it } from 'vitest';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { CANARY_LEASE, CanaryController } from '../../src/rollout/canary/controller.ts';
import { selectDueRuns, selectRun } from '../../src/rollout/canary/sql.ts';
import { startCanary } from '../../src/rollout/canary/start.ts';
import { readCanaryStatus } from '../../src/rollout/canary/status.ts';
import { leaseHolder } from '../../src/sql/leases.ts';
import { describeEachDriver, type TestDatabase } from '../helpers/db.ts';
import { canaryLog, makeDue, recordFirstTries, testSettings } from './canary-fixtures.ts';
import { providerRows } from './provider-rows.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDriver('canary controllers sharing one database', (use, driver) => {
  /** A database handle per controller: its own pool on Postgres, as another process has. */
  const opened: Db[] = [];
  function connection(database: TestDatabase): Db {
    if (driver === 'pglite') return database.db;
    const db = createPgDb({ connectionString: database.url!, max: 3 });
    opened.push(db);
    return db;
  }
  async function closeConnections(): Promise<void> {
    for (const db of opened.splice(0)) await db.close();
  }

  /** Ends whatever canary the previous test left, and clears the lease. */
  async function reset(db: Db): Promise<void> {
    await db.query(
      `update ai_canary_runs set status = 'aborted', finished_at = now()
        where status in ('progressing', 'halted')`,
    );
    await db.query(`delete from genloop_leases`);
    await db.query(
      `update ai_provider_configs
          set enabled = true, is_default = (provider = 'openai'),
              weight = case provider when 'openai' then 100 else 0 end, metadata = '{}'
        where environment = 'prod'`,
    );
  }

  it('exactly one controller leads; a stopped leader hands over at once', async () => {
    const database = use();
    await reset(database.db);
    const controllers = ['a', 'b', 'c'].map(
      (holder) => new CanaryController({ db: connection(database), holder, leaseMs: 5_000 }),
    );
    try {
      for (let round = 0; round < 3; round++) {
        await Promise.all(controllers.map((controller) => controller.tick()));
        expect(controllers.filter((controller) => controller.leading)).toHaveLength(1);
      }
      const leader = controllers.find((controller) => controller.leading)!;
      expect(await leaseHolder(database.db, CANARY_LEASE)).toBe(leader.holder);

      await leader.stop();
      expect(await leaseHolder(database.db, CANARY_LEASE)).toBeUndefined();
      const rest = controllers.filter((controller) => controller !== leader);
      await Promise.all(rest.map((controller) => controller.tick()));
      expect(rest.filter((controller) => controller.leading)).toHaveLength(1);
    } finally {
      await Promise.all(controllers.map((controller) => controller.stop()));
      await closeConnections();
    }
  });

  it('a leader that dies without letting go is replaced once its lease has run out', async () => {
    const database = use();
    await reset(database.db);
    const dead = new CanaryController({ db: connection(database), holder: 'dead', leaseMs: 800 });
    const next = new CanaryController({ db: connection(database), holder: 'next', leaseMs: 800 });
    try {
      await dead.tick();
      await next.tick();
      expect([dead.leading, next.leading]).toEqual([true, false]);
      // The dead one never ticks again (killed): its lease is honoured until it expires.
      await sleep(300);
      await next.tick();
      expect(next.leading).toBe(false);
      await sleep(700);
      await next.tick();
      expect(next.leading).toBe(true);
      expect(await leaseHolder(database.db, CANARY_LEASE)).toBe('next');
    } finally {
      await next.stop();
      await closeConnections();
    }
  });

  it('two controllers checking the same due canary at once take its step once', async () => {
    const database = use();
    const { db } = database;
    await reset(db);
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [20, 50, 100], intervalMs: 60_000 }),
      operator: 'alice',
    });
    await recordFirstTries(db, 'custom', 8);
    await recordFirstTries(db, 'openai', 30);
    await makeDue(db, run.id);
    const [due] = await selectDueRuns(db);
    const one = new CanaryController({ db: connection(database), holder: 'one' });
    const two = new CanaryController({ db: connection(database), holder: 'two' });
    try {
      // Both think they lead (a lease handed over mid-tick) and act on the same snapshot.
      const results = await Promise.all([one.check(due!), two.check(due!)]);
      expect(results.filter((event) => event !== undefined)).toHaveLength(1);
      expect(results.find((event) => event)?.event).toBe('canary_step');

      // Due again: both tick as well; still one decision per check.
      await recordFirstTries(db, 'custom', 8);
      await makeDue(db, run.id);
      const [again] = await selectDueRuns(db);
      const second = await Promise.all([one.check(again!), two.check(again!), one.check(due!)]);
      expect(second.filter((event) => event !== undefined)).toHaveLength(1);

      const status = (await readCanaryStatus(db, 'prod'))!;
      expect(status.checks.map((check) => [check.step, check.decision])).toEqual([
        [1, 'step'],
        [2, 'step'],
      ]);
      expect(status).toMatchObject({ step: 3, weight: 100 });
      expect((await canaryLog(db, [run.id])).map((entry) => entry.action)).toEqual([
        'canary_start',
        'canary_step',
        'canary_step',
      ]);
    } finally {
      await closeConnections();
    }
  });

  it('a leader killed mid-canary is succeeded by another that resumes without skipping or repeating a step', async () => {
    const database = use();
    const { db } = database;
    await reset(db);
    const before = await providerRows(db);
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [20, 50, 100], intervalMs: 1_000 }),
      operator: 'alice',
    });
    // Traffic as the router would record it, a little every 100 ms.
    let recording = true;
    const traffic = (async () => {
      while (recording) {
        await recordFirstTries(db, 'custom', 2);
        await recordFirstTries(db, 'openai', 2);
        await sleep(100);
      }
    })();
    const first = new CanaryController({
      db: connection(database),
      holder: 'first',
      tickMs: 100,
      leaseMs: 1_000,
    });
    const second = new CanaryController({
      db: connection(database),
      holder: 'second',
      tickMs: 100,
      leaseMs: 1_000,
    });
    try {
      // The first leader takes step 1 → 2, then dies: no more ticks, its lease left to expire.
      while ((await selectRun(db, run.id))!.stepIndex < 1) {
        await first.tick();
        await sleep(100);
      }
      second.start();
      for (let waited = 0; (await selectRun(db, run.id))!.state === 'progressing'; waited += 100) {
        if (waited > 20_000) throw new Error('the canary did not finish');
        await sleep(100);
      }
      expect(second.leading).toBe(true);
    } finally {
      recording = false;
      await traffic;
      await second.stop();
      await closeConnections();
    }

    const status = (await readCanaryStatus(db, 'prod', { id: run.id }))!;
    expect(status.state).toBe('promoted');
    expect(status.checks.map((check) => [check.step, check.weight, check.decision])).toEqual([
      [1, 20, 'step'],
      [2, 50, 'step'],
      [3, 100, 'promote'],
    ]);
    expect((await canaryLog(db, [run.id])).map((entry) => entry.action)).toEqual([
      'canary_start',
      'canary_step',
      'canary_step',
      'canary_complete',
    ]);
    const promoted = (await providerRows(db)).filter((row) => row.environment === 'prod');
    expect(promoted.find((row) => row.provider === 'custom')).toMatchObject({
      is_default: true,
      weight: 100,
    });
    expect(before.filter((row) => row.environment !== 'prod')).toEqual(
      (await providerRows(db)).filter((row) => row.environment !== 'prod'),
    );
  });
});
