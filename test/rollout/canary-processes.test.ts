import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchDatabase, createBenchDatabase } from '../../bench/lib/database.ts';
import { startGenloop, userTokens } from '../../bench/lib/genloop.ts';
import type { Child } from '../../bench/lib/processes.ts';
import { stopAll } from '../../bench/lib/processes.ts';
import { CANARY_LEASE } from '../../src/rollout/canary/controller.ts';
import { parseCanaryFlags } from '../../src/rollout/canary/settings.ts';
import { startCanary } from '../../src/rollout/canary/start.ts';
import { readCanaryStatus } from '../../src/rollout/canary/status.ts';
import { leaseHolder } from '../../src/sql/leases.ts';
import { drivers } from '../helpers/db.ts';

/**
 * Two real `genloop serve` processes on one database, each with its canary controller: one
 * leads, the other waits. The leader is SIGKILLed after the first check; the other takes the
 * lease once it lapses and finishes the canary, with no step skipped or taken twice.
 *
 * Separate processes sharing a database are a Postgres matter (PGlite is one in-process
 * connection); the same rules run on both drivers with in-process controllers in
 * canary-leader.test.ts.
 */
if (drivers.includes('pg')) {
  describe('the canary across two serve processes [pg]', () => {
    let database: BenchDatabase;
    beforeAll(async () => {
      database = await createBenchDatabase(
        process.env.DATABASE_URL!,
        `genloop_canary_proc_${process.pid}_${Date.now().toString(36)}`,
      );
    });
    afterAll(async () => {
      await stopAll(5_000);
      await database?.drop();
    });

    it('one leads; when it dies the other resumes, and every step is taken once', async () => {
      const jwtSecret = randomBytes(32).toString('hex');
      const env = {
        DATABASE_URL: database.url,
        GENLOOP_JWT_SECRET: jwtSecret,
        GENLOOP_SIMULATOR: 'on',
      };
      const processes: { child: Child; url: string }[] = [];
      for (const name of ['serve-a', 'serve-b']) {
        processes.push(await startGenloop({ name, role: 'all', env }));
      }
      const [token] = await userTokens(jwtSecret, 1);

      // Steady traffic through both processes, as a load balancer would spread it.
      let sending = true;
      let killed: Child | undefined;
      const failures: string[] = [];
      const traffic = Array.from({ length: 4 }, async (_, lane) => {
        for (let sent = 0; sending; sent++) {
          const target = processes[(lane + sent) % processes.length]!;
          if (target.child === killed) continue;
          const response = await fetch(`${target.url}/functions/v1/generate-site`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ prompt: 'A bakery in Hobart that sells sourdough' }),
          }).catch((error: unknown) => ({ status: 0, error }));
          if ('error' in response) {
            // The process killed on purpose drops what it was serving; the lane moves on.
            if (target.child !== killed) failures.push(String(response.error));
          } else {
            await response.arrayBuffer();
            if (response.status !== 200) failures.push(`HTTP ${response.status}`);
          }
        }
      });

      try {
        const holderPid = async () =>
          Number((await leaseHolder(database.db, CANARY_LEASE))?.split(':')[1]);
        await expect.poll(holderPid, { timeout: 15_000 }).toBeGreaterThan(0);
        const leaderPid = await holderPid();
        const leader = processes.find((p) => p.child.process.pid === leaderPid);
        expect(leader, `the lease names one of the two processes (pid ${leaderPid})`).toBeDefined();
        const follower = processes.find((p) => p !== leader)!;

        await startCanary(database.db, {
          environment: 'prod',
          provider: 'custom',
          settings: parseCanaryFlags({ steps: '25,50,100', interval: '2s', minSamples: '5' }),
          operator: 'test',
        });
        const status = () => readCanaryStatus(database.db, 'prod');
        await expect
          .poll(async () => (await status())?.checks.length ?? 0, { timeout: 30_000 })
          .toBeGreaterThan(0);

        killed = leader!.child;
        leader!.child.process.kill('SIGKILL');
        await leader!.child.exited;
        await expect
          .poll(async () => (await status())?.state, { timeout: 60_000, interval: 250 })
          .toBe('promoted');
        expect(await holderPid()).toBe(follower.child.process.pid);

        const final = (await status())!;
        // Checks numbered once each, and each one at the step of the one before or the next.
        expect(final.checks.map((check) => check.n)).toEqual(
          final.checks.map((_, index) => index + 1),
        );
        for (const [index, check] of final.checks.entries()) {
          const previous = index === 0 ? 1 : final.checks[index - 1]!.step;
          expect([previous, previous + 1]).toContain(check.step);
        }
        expect(final.checks.map((check) => check.weight)).toEqual(
          expect.arrayContaining([25, 50, 100]),
        );
        // One log entry per decision: the start, each check, nothing twice.
        const { rows } = await database.db.query<{ action: string; n: number }>(
          `select action, count(*)::int as n from public.ai_rollout_log
            where environment = 'prod' and action like 'canary%' group by action order by action`,
        );
        const logged = Object.fromEntries(rows.map((row) => [row.action, row.n]));
        expect(logged.canary_start).toBe(1);
        expect(logged.canary_complete).toBe(1);
        expect(logged.canary_step).toBe(2);
        expect(
          (logged.canary_step ?? 0) + (logged.canary_complete ?? 0) + (logged.canary_check ?? 0),
        ).toBe(final.checks.length);
        expect(failures).toEqual([]);
      } finally {
        sending = false;
        await Promise.all(traffic);
      }
    }, 120_000);
  });
}
