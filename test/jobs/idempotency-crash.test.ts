import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { assembleGenloop, type Genloop } from '../../src/app.ts';
import type { Db } from '../../src/db/types.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { describeEachStack, FAST_SERVICE_OPTIONS, type Stack } from '../helpers/stack.ts';

const SOURCE = 'Photosynthesis turns light, water and carbon dioxide into sugar. '.repeat(20);

/**
 * The database as a replica sees it when its connection drops: once `drop()` is called, the
 * next transaction does all its work and then loses the connection before its commit (it rolls
 * back), and every statement after that fails too, as on a process that is going down.
 */
function droppingDb(db: Db): Db & { drop(): void } {
  let armed = false;
  let gone = false;
  const lost = () => Promise.reject(new Error('Connection terminated unexpectedly'));
  return {
    driver: db.driver,
    drop: () => {
      armed = true;
    },
    query: (text, params) => (gone ? lost() : db.query(text, params)),
    exec: (sql) => (gone ? lost() : db.exec(sql)),
    transaction: async (fn) => {
      if (gone) return lost();
      if (!armed) return db.transaction(fn);
      return db.transaction(async (tx) => {
        await fn(tx);
        gone = true;
        throw new Error('Connection terminated unexpectedly');
      });
    },
    listen: (channel, onMessage, options) => db.listen(channel, onMessage, options),
    close: async () => {},
  };
}

function post(app: Genloop['app'], token: string, key: string) {
  return app.request('/api/ai/generations', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify({ source_text: SOURCE }),
  });
}

async function jobsWithKey(stack: Stack, key: string): Promise<number> {
  const { rows } = await stack.database.db.query(
    'select 1 from public.ai_generations where idempotency_key = $1',
    [key],
  );
  return rows.length;
}

describeEachStack('an Idempotency-Key commits with its effect', (use, driver) => {
  it('a request that dies after taking its key leaves it free: the retry is accepted at once, one job', async () => {
    const stack = use();
    const dropping = droppingDb(stack.database.db);
    const replica = await assembleGenloop(stack.config, dropping, createLogger(stack.config), {
      services: { simulatorUrl: stack.simulator.url, ...FAST_SERVICE_OPTIONS },
      interior: false,
    });
    try {
      const token = await stack.token();
      const key = randomUUID();
      dropping.drop();
      const dying = await post(replica.app, token, key);
      // The lost connection is the database's, not a bug: 503, retry as it was.
      expect(dying.status).toBe(503);
      expect(await dying.json()).toMatchObject({ code: 'database_unavailable' });
      expect(dying.headers.get('retry-after')).toBe('1');
      expect(await jobsWithKey(stack, key)).toBe(0);

      const started = Date.now();
      const retry = await post(stack.app, token, key);
      expect(retry.status, await retry.clone().text()).toBe(202);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await jobsWithKey(stack, key)).toBe(1);

      const again = await post(stack.app, token, key);
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.json()).toEqual(await retry.json());
      expect(await jobsWithKey(stack, key)).toBe(1);
    } finally {
      await replica.close();
    }
  });

  it('a submission rolled back after taking the key leaves nothing behind', async () => {
    const stack = use();
    const { db } = stack.database;
    const { HeldKey } = await import('../../src/http/middleware/idempotency/index.ts');
    const userId = randomUUID();
    const key = randomUUID();
    const held = new HeldKey({ userId, key, scope: 'test', requestHash: 'h', staleMs: 60_000 });
    await expect(
      db.transaction(async (tx) => {
        await held.take(tx);
        await held.settle(tx, { status: 202, body: { id: 'x' }, resourceId: randomUUID() });
        throw new Error('the request died before its commit');
      }),
    ).rejects.toThrow('died');
    const { rows } = await db.query('select 1 from public.idempotency_keys where user_id = $1', [
      userId,
    ]);
    expect(rows).toHaveLength(0);
  });

  if (driver === 'pg') {
    it('a backend terminated mid-submission: the retry with the same key is accepted, one job', async () => {
      const stack = use();
      const { db } = stack.database;
      const token = await stack.token();
      const userId = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
        .sub as string;
      const key = randomUUID();
      // Hold the user's submission lock so the request waits inside its transaction, key taken.
      let release!: () => void;
      const holding = db.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `genloop:user:${userId}`,
        ]);
        await new Promise<void>((resolve) => (release = resolve));
      });
      const dying = post(stack.app, token, key);
      const waiting = async () => {
        for (let i = 0; i < 200; i++) {
          const { rows } = await db.query<{ pid: number }>(
            `select pid from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'
                and query like '%pg_advisory_xact_lock%'`,
          );
          if (rows[0]) return rows[0].pid;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        throw new Error('the submission never waited on the lock');
      };
      const pid = await waiting();
      // While it runs, a duplicate is told so.
      expect((await post(stack.app, token, key)).status).toBe(409);
      await db.query('select pg_terminate_backend($1)', [pid]);
      expect((await dying).status).toBe(503);
      release();
      await holding;
      const retry = await post(stack.app, token, key);
      expect(retry.status, await retry.clone().text()).toBe(202);
      expect(await jobsWithKey(stack, key)).toBe(1);
    });
  }
});
