import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCluster } from '../../bench/cluster/cluster.ts';
import { type BenchDatabase, createBenchDatabase } from '../../bench/lib/database.ts';
import { findPgbouncer } from '../../bench/lib/pgbouncer.ts';
import { drivers } from '../helpers/db.ts';

/**
 * Replicas behind a transaction-mode pooler, under the faults a deployment meets: two api and two
 * worker processes on one Postgres through PgBouncer, careful clients retrying their submissions
 * with the same Idempotency-Key, a worker SIGKILLed every two seconds and replaced, the pooler
 * restarted and one backend terminated while jobs run. Every submission must be accepted once,
 * every job must succeed once with one telemetry row, one set of suggestions and one final ledger
 * entry, and nothing may be left running or holding a key. (`npm run bench:cluster` runs the same
 * cluster at full size and reports its throughput.)
 *
 * A pooler, processes and backends are Postgres concepts: PGlite is one in-process connection,
 * so this file runs on Postgres only. CI installs Debian's pgbouncer; a machine without it fails
 * here with the command that installs it.
 */
if (drivers.includes('pg')) {
  describe('a cluster behind PgBouncer in transaction mode [pg]', () => {
    let database: BenchDatabase;
    beforeAll(async () => {
      if (!findPgbouncer()) {
        throw new Error('the cluster test needs pgbouncer: apt-get install pgbouncer');
      }
      const name = `genloop_cluster_${process.pid}_${Date.now().toString(36)}`;
      database = await createBenchDatabase(process.env.DATABASE_URL!, name);
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('accepts every submission once and runs every job once through kills and a pooler restart', async () => {
      const lines: string[] = [];
      const result = await runCluster({
        database,
        apis: 2,
        workers: 2,
        jobs: 400,
        clients: 32,
        users: 50,
        providerLatency: 'uniform:20:38',
        workerConcurrency: 8,
        leaseMs: 2_000,
        chaos: { killWorkerEveryMs: 2_000, restartPooler: true, terminateBackend: true },
        log: (line) => lines.push(line),
      });
      const context = JSON.stringify({ ...result, log: lines }, null, 2);

      // The faults happened.
      const events = result.events.map((e) => e.event).join('\n');
      expect(events, context).toMatch(/restarting the pooler/);
      expect(events, context).toMatch(/terminated backend \d+/);
      expect(events, context).toMatch(/SIGKILLed worker-/);
      // No process died but those killed on purpose.
      expect(result.unexpectedExits, context).toEqual([]);

      // Every client got its job accepted, exactly once, and a retry of a finished key replays it.
      expect(result.submissions, context).toMatchObject({
        total: 400,
        accepted: 400,
        refused: 0,
        gaveUp: 0,
        replayMismatches: 0,
      });
      expect(result.submissions.replays).toBeGreaterThan(0);
      // What a client retried was a 503 (database unavailable), a 409 (its first try still held
      // the key) or a dropped connection; never a 500.
      expect(Object.keys(result.submissions.retriedTries), context).not.toContain('500');

      // Every job ran to success exactly once, with everything it owns written once.
      expect(result.database, context).toMatchObject({
        jobs: 400,
        succeeded: 400,
        failed: 0,
        unfinished: 0,
        duplicateKeys: 0,
        mismatchedJobs: 0,
        telemetryNotOne: 0,
        suggestionSetsNotOne: 0,
        ledgerFinalsNotOne: 0,
        keysInProgress: 0,
      });
    }, 240_000);
  });
}
