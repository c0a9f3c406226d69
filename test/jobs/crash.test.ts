import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { submitJob } from '../../src/jobs/submit.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { claimJobs } from '../../src/sql/claim-jobs.ts';
import { spawnGenloop } from '../helpers/process.ts';
import { describeEachStack, eventually, type Stack, TEST_JWT_SECRET } from '../helpers/stack.ts';

const SOURCE = 'Canberra is the capital of Australia. The Murray is its longest river. '.repeat(20);

async function submit(stack: Stack, simulate?: string) {
  const userId = randomUUID();
  const job = await submitJob(stack.database.db, {
    claims: { sub: userId, role: 'authenticated' },
    recipe: 'flashcards',
    row: {
      id: randomUUID(),
      source_text: SOURCE,
      request_id: randomUUID(),
      input: simulate ? { simulate } : {},
    },
    monthlyQuota: 10,
  });
  return { id: job.id, userId };
}

/** The exactly-once promise: one suggestion set, one final ledger entry, one telemetry row. */
async function expectCompletedOnce(stack: Stack, id: string) {
  const { db } = stack.database;
  const job = await db.query<{ status: string }>(
    'select status from ai_generations where id = $1',
    [id],
  );
  expect(job.rows[0]!.status).toBe('succeeded');
  const suggestions = await db.query<{ count: number; positions: number }>(
    'select count(*)::int as count, count(distinct position)::int as positions from ai_suggestions where generation_id = $1',
    [id],
  );
  expect(suggestions.rows[0]!.count).toBeGreaterThan(0);
  expect(suggestions.rows[0]!.count).toBe(suggestions.rows[0]!.positions);
  const ledger = await db.query<{ kind: string }>(
    'select kind from usage_ledger where generation_id = $1 order by kind',
    [id],
  );
  expect(ledger.rows.map((row) => row.kind)).toEqual(['reserve', 'settle']);
  const telemetry = await db.query('select 1 from ai_training_examples where generation_id = $1', [
    id,
  ]);
  expect(telemetry.rowCount).toBe(1);
}

describeEachStack('crashes and restarts', (use, driver) => {
  it('a worker that died holding a job: the lease expires, another worker completes it exactly once', async () => {
    const stack = use();
    const { id } = await submit(stack);
    // A worker claims the job and dies without a word (no heartbeat, no release).
    const [claimed] = await claimJobs(stack.database.db, {
      workerId: 'dead-worker',
      limit: 1,
      leaseMs: 300,
      recipes: ['flashcards'],
    });
    expect(claimed?.id).toBe(id);
    const worker = await stack.startWorker({ leaseMs: 600, pollMs: 50 });
    await eventually(async () => {
      const { rows } = await stack.database.db.query<{ status: string }>(
        'select status from ai_generations where id = $1',
        [id],
      );
      return rows[0]!.status === 'succeeded' ? true : undefined;
    });
    await worker.stop();
    await expectCompletedOnce(stack, id);
    const attempts = await stack.database.db.query<{ attempts: number }>(
      'select attempts from ai_generations where id = $1',
      [id],
    );
    expect(attempts.rows[0]!.attempts).toBe(2);
  });

  // PGlite lives inside one process, so worker processes and backends exist on Postgres only;
  // the case above covers the embedded mode.
  if (driver !== 'pg') return;

  it('SIGKILL of a worker process mid-job (Postgres): completed exactly once by another worker', async () => {
    const stack = use();
    const { id } = await submit(stack, 'openrouter=slow:2500');
    const worker = spawnGenloop(['serve', '--role', 'worker', '--port', '0'], {
      DATABASE_URL: stack.database.url!,
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'on',
      GENLOOP_JOB_LEASE_MS: '1000',
    });
    await worker.url;
    await eventually(async () => {
      const { rows } = await stack.database.db.query<{ status: string }>(
        'select status from ai_generations where id = $1',
        [id],
      );
      return rows[0]!.status === 'running' ? true : undefined;
    }, 20_000).catch(async (error) => {
      const { rows } = await stack.database.db.query(
        'select status, error, attempts from ai_generations where id = $1',
        [id],
      );
      throw new Error(`${error}: ${JSON.stringify(rows)}\n${worker.output()}`);
    });
    worker.child.kill('SIGKILL');
    expect((await worker.exited).signal).toBe('SIGKILL');
    const survivor = await stack.startWorker({ leaseMs: 1_000, pollMs: 100 });
    await eventually(async () => {
      const { rows } = await stack.database.db.query<{ status: string }>(
        'select status from ai_generations where id = $1',
        [id],
      );
      return rows[0]!.status === 'succeeded' ? true : undefined;
    }, 20_000);
    await survivor.stop();
    await expectCompletedOnce(stack, id);
  });

  it('Postgres backends killed mid-run: the worker reconnects, LISTEN comes back, no job is lost', async () => {
    const stack = use();
    // Polling so slow that only NOTIFY can wake the worker in time.
    const worker = await stack.startWorker({ pollMs: 60_000 });
    const before = await submit(stack);
    await eventually(async () => {
      const { rows } = await stack.database.db.query<{ status: string }>(
        'select status from ai_generations where id = $1',
        [before.id],
      );
      return rows[0]!.status === 'succeeded' ? true : undefined;
    });
    await stack.database.db.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`,
    );
    // The test's own pool may still hand out connections that were just killed (each fails
    // once, at its first statement, so nothing is written); the next try gets a fresh one.
    const submitRetrying = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await submit(stack);
        } catch (error) {
          if (attempt >= 10) throw error;
        }
      }
    };
    const after = await Promise.all([submitRetrying(), submitRetrying(), submitRetrying()]);
    for (const job of after) {
      await eventually(async () => {
        const { rows } = await stack.database.db.query<{ status: string }>(
          'select status from ai_generations where id = $1',
          [job.id],
        );
        return rows[0]!.status === 'succeeded' ? true : undefined;
      }, 15_000);
      await expectCompletedOnce(stack, job.id);
    }
    await worker.stop();
  });
});

describeEachStack('graceful shutdown (SIGTERM) under load', (use) => {
  it('in-flight requests finish, buffered telemetry is flushed, running jobs end or go back to the queue', async () => {
    const stack = use();
    // A provider of its own, slow enough that every request is still waiting on it when the
    // signal comes, and whose request log says when all of them have got that far.
    const provider = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      latency: { distribution: 'fixed', p50Ms: 1_500 },
    });
    onTestFinished(() => provider.close());
    const env: Record<string, string> = {
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'off',
      OPENAI_API_KEY: 'sk-test-simulator',
      OPENAI_BASE_URL: provider.baseUrls.openai,
    };
    if (stack.database.driver === 'pg') env.DATABASE_URL = stack.database.url!;
    else env.GENLOOP_DATA_DIR = mkdtempSync(join(tmpdir(), 'genloop-sigterm-'));
    const server = spawnGenloop(['serve', '--port', '0'], env);
    // A test that fails before the signal must not leave the server running.
    onTestFinished(() => {
      if (server.child.exitCode === null && server.child.signalCode === null)
        server.child.kill('SIGKILL');
    });
    const url = await server.url;
    const token = await stack.token();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const inFlight = Array.from({ length: 12 }, (_, index) =>
      fetch(`${url}/functions/v1/generate-site`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ prompt: `A shop number ${index}` }),
      }),
    );
    await eventually(
      async () => (provider.requests({ provider: 'openai' }).length === 12 ? true : undefined),
      30_000,
    );
    server.child.kill('SIGTERM');
    const responses = await Promise.all(inFlight);
    expect(responses.map((response) => response.status)).toEqual(Array(12).fill(200));
    const requestIds = await Promise.all(
      responses.map(
        async (response) => ((await response.json()) as { requestId: string }).requestId,
      ),
    );
    expect((await server.exited).code).toBe(0);

    if (stack.database.driver === 'pg') {
      const { rows } = await stack.database.db.query<{ count: number }>(
        'select count(*)::int as count from ai_training_examples where request_id = any($1::uuid[])',
        [requestIds],
      );
      expect(rows[0]!.count).toBe(12);
    } else {
      const { createPgliteDb } = await import('../../src/db/pglite-driver.ts');
      const db = await createPgliteDb({ dataDir: join(env.GENLOOP_DATA_DIR!, 'pgdata') });
      const { rows } = await db.query<{ count: number; running: number }>(
        `select (select count(*)::int from ai_training_examples where request_id = any($1::uuid[])) as count,
                (select count(*)::int from ai_generations where status = 'running') as running`,
        [requestIds],
      );
      await db.close();
      expect(rows[0]).toEqual({ count: 12, running: 0 });
    }
    // A child process compiles and migrates before it serves: slow on a loaded machine.
  }, 90_000);
});
