import { randomUUID } from 'node:crypto';
import { expect, it, onTestFinished } from 'vitest';
import { cancelJob as adminCancel, retryJob as adminRetry } from '../../src/console/api/actions.ts';
import { selectBudgetStatus, upsertUserLimit } from '../../src/sql/budgets.ts';
import { claimJobs } from '../../src/sql/claim-jobs.ts';
import { reapJobs } from '../../src/sql/reap-jobs.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

const SOURCE =
  'Canberra is the capital of Australia. The Murray is its longest river. Uluru is in the Northern Territory. '.repeat(
    12,
  );
const FAIL_EVERYWHERE = 'openrouter=error:500;openai=error:500;custom=error:500';

async function submit(
  stack: Stack,
  userId: string,
  headers: Record<string, string> = {},
  source = SOURCE,
): Promise<Response> {
  return stack.app.request('/api/ai/generations', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await stack.token(userId)}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify({ source_text: source }),
  });
}

async function submitted(
  stack: Stack,
  userId: string,
  headers: Record<string, string> = {},
  source = SOURCE,
) {
  const response = await submit(stack, userId, headers, source);
  expect(response.status).toBe(202);
  return ((await response.json()) as { generation_id: string }).generation_id;
}

async function setLimit(stack: Stack, userId: string, limitUsd: number) {
  await upsertUserLimit(stack.database.db, { userId, limitUsd, period: 'day' });
  stack.services.budgets.invalidate();
}

async function ledger(stack: Stack, jobId: string) {
  const { rows } = await stack.database.db.query<{
    kind: string;
    amount_usd: number;
    cost_usd: number | null;
    idempotency_key: string;
  }>(
    `select kind, amount_usd::float8 as amount_usd, cost_usd::float8 as cost_usd, idempotency_key
       from public.budget_ledger where reservation_id = $1 order by id`,
    [jobId],
  );
  return rows;
}

/** What the user has committed (settled spend + open reservations): the sum the limit caps. */
async function committed(stack: Stack, userId: string): Promise<number> {
  const { rows } = await stack.database.db.query<{ sum: number }>(
    'select coalesce(sum(amount_usd), 0)::float8 as sum from public.budget_ledger where user_id = $1',
    [userId],
  );
  return rows[0]!.sum;
}

async function jobStatus(stack: Stack, id: string): Promise<string> {
  const { rows } = await stack.database.db.query<{ status: string }>(
    'select status from public.ai_generations where id = $1',
    [id],
  );
  return rows[0]!.status;
}

async function finished(stack: Stack, id: string, statuses = ['succeeded']) {
  return eventually(async () => {
    const status = await jobStatus(stack, id);
    return statuses.includes(status) ? status : undefined;
  }, 15_000);
}

async function withWorker(stack: Stack, options: Parameters<Stack['startWorker']>[0] = {}) {
  const worker = await stack.startWorker({ pollMs: 50, ...options });
  onTestFinished(() => worker.stop(1_000));
  return worker;
}

/** The reservation one flashcard job of SOURCE takes (read from a first job's ledger). */
async function reservationOfOneJob(stack: Stack): Promise<number> {
  const userId = randomUUID();
  await setLimit(stack, userId, 100);
  const id = await submitted(stack, userId);
  const [reserve] = await ledger(stack, id);
  expect(reserve?.kind).toBe('reserve');
  // Not left in the queue for a later test's worker.
  await adminCancel(stack.database.db, id);
  return reserve!.amount_usd;
}

describeEachStack(
  'dollar budgets on flashcard jobs',
  (use) => {
    it('reserves at submit and settles the real cost when the job succeeds', async () => {
      const stack = use();
      await withWorker(stack);
      const userId = randomUUID();
      await setLimit(stack, userId, 1);
      const id = await submitted(stack, userId);
      await finished(stack, id);
      const entries = await ledger(stack, id);
      expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
      const [reserve, settle] = entries;
      const { rows } = await stack.database.db.query<{ cost: number; job_cost: number }>(
        `select (select sum(a.cost_usd) from public.ai_provider_attempts a
                  join public.ai_training_examples e on e.id = a.training_example_id
                 where e.generation_id = $1)::float8 as cost,
                (select cost_usd from public.ai_generations where id = $1)::float8 as job_cost`,
        [id],
      );
      expect(rows[0]!.cost).toBeGreaterThan(0);
      expect(settle!.cost_usd).toBeCloseTo(rows[0]!.cost, 9);
      expect(rows[0]!.job_cost).toBeCloseTo(rows[0]!.cost, 6);
      // The settlement gave back what was reserved beyond the real cost.
      expect(reserve!.amount_usd + settle!.amount_usd).toBeCloseTo(settle!.cost_usd!, 9);
      expect(await committed(stack, userId)).toBeCloseTo(settle!.cost_usd!, 9);
      // The job was capped at the output its reservation was made for.
      const sent = stack.simulator
        .requests()
        .filter((request) => JSON.stringify(request.body).includes('Canberra'));
      expect(sent.length).toBeGreaterThan(0);
      for (const request of sent) expect(request.body).toMatchObject({ max_tokens: 4096 });
    });

    it('a spent budget refuses the next job at submit: 402 budget_exceeded, Retry-After, nothing queued', async () => {
      const stack = use();
      const reserve = await reservationOfOneJob(stack);
      const userId = randomUUID();
      // Room for one job's reservation, not two.
      await setLimit(stack, userId, reserve * 1.5);
      const first = await submitted(stack, userId);
      const usage = async () =>
        (
          await stack.database.db.query('select 1 from public.usage_ledger where user_id = $1', [
            userId,
          ])
        ).rowCount;
      const usageBefore = await usage();
      const response = await submit(stack, userId, { 'idempotency-key': randomUUID() });
      expect(response.status).toBe(402);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
      expect(await response.json()).toMatchObject({ status: 402, code: 'budget_exceeded' });
      const { rows } = await stack.database.db.query<{ n: number }>(
        'select count(*)::int as n from public.ai_generations where user_id = $1',
        [userId],
      );
      expect(rows[0]!.n).toBe(1);
      expect(await usage()).toBe(usageBefore);
      expect(await committed(stack, userId)).toBeCloseTo(reserve, 9);
      await adminCancel(stack.database.db, first);
    });

    it('40 concurrent submissions never commit more than the budget, and spend stays within it', async () => {
      const stack = use();
      const reserve = await reservationOfOneJob(stack);
      await withWorker(stack, { concurrency: 4 });
      const userId = randomUUID();
      const limit = Math.round(reserve * 3.5 * 1e8) / 1e8;
      await setLimit(stack, userId, limit);
      const samples: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples.push(await committed(stack, userId));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      const responses = await Promise.all(Array.from({ length: 40 }, () => submit(stack, userId)));
      const statuses = responses.map((response) => response.status);
      expect(statuses.every((status) => status === 202 || status === 402)).toBe(true);
      const accepted = await Promise.all(
        responses
          .filter((response) => response.status === 202)
          .map(
            async (response) =>
              ((await response.json()) as { generation_id: string }).generation_id,
          ),
      );
      expect(accepted.length).toBeGreaterThanOrEqual(3);
      expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(0);
      for (const id of accepted) await finished(stack, id, ['succeeded', 'failed']);
      sampling = false;
      await sampler;
      expect(samples.length).toBeGreaterThan(0);
      for (const sample of samples) expect(sample).toBeLessThanOrEqual(limit + 1e-9);
      const status = await selectBudgetStatus(stack.database.db, userId, new Date());
      expect(status?.reservedUsd).toBe(0);
      expect(status!.spentUsd).toBeGreaterThan(0);
      expect(status!.spentUsd).toBeLessThanOrEqual(limit);
      // One reservation and one settlement per accepted job, none for a refused one.
      const { rows } = await stack.database.db.query<{ kind: string; n: number }>(
        `select kind, count(*)::int as n from public.budget_ledger where user_id = $1 group by kind order by kind`,
        [userId],
      );
      expect(rows).toEqual([
        { kind: 'reserve', n: accepted.length },
        { kind: 'settle', n: accepted.length },
      ]);
    });

    it('a job whose every provider call failed is refunded in full', async () => {
      const stack = use();
      await withWorker(stack);
      const userId = randomUUID();
      await setLimit(stack, userId, 1);
      const id = await submitted(stack, userId, { 'x-genloop-simulate': FAIL_EVERYWHERE });
      await finished(stack, id, ['failed']);
      const entries = await ledger(stack, id);
      expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'refund']);
      expect(entries[1]!.amount_usd).toBeCloseTo(-entries[0]!.amount_usd, 12);
      expect(await committed(stack, userId)).toBeCloseTo(0, 12);
    });

    it('a canceled job is refunded once, whoever cancels and however often', async () => {
      const stack = use();
      const userId = randomUUID();
      await setLimit(stack, userId, 1);
      const token = await stack.token(userId);
      const byUser = await submitted(stack, userId);
      const cancel = (id: string) =>
        stack.app.request(`/api/ai/generations/${id}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
      expect((await cancel(byUser)).status).toBe(200);
      expect((await cancel(byUser)).status).toBe(409);
      await expect(adminCancel(stack.database.db, byUser)).rejects.toThrow();
      const byOperator = await submitted(stack, userId);
      await adminCancel(stack.database.db, byOperator);
      expect((await cancel(byOperator)).status).toBe(409);
      for (const id of [byUser, byOperator]) {
        const entries = await ledger(stack, id);
        expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'refund']);
      }
      expect(await committed(stack, userId)).toBeCloseTo(0, 12);
    });

    it('a job reclaimed after its worker died settles exactly once', async () => {
      const stack = use();
      const userId = randomUUID();
      await setLimit(stack, userId, 1);
      const id = await submitted(stack, userId);
      // A worker claims the job and dies without a word (no heartbeat, no completion).
      const [claimed] = await claimJobs(stack.database.db, {
        workerId: 'dead-worker',
        limit: 1,
        leaseMs: 300,
        recipes: ['flashcards'],
      });
      expect(claimed?.id).toBe(id);
      await withWorker(stack, { leaseMs: 600 });
      await finished(stack, id);
      const entries = await ledger(stack, id);
      expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
      expect(await committed(stack, userId)).toBeCloseTo(entries[1]!.cost_usd!, 9);
      const { rows } = await stack.database.db.query<{ attempts: number }>(
        'select attempts from public.ai_generations where id = $1',
        [id],
      );
      expect(rows[0]!.attempts).toBe(2);
    });

    it('a timed-out job is refunded once; an operator retry reserves once more and settles once', async () => {
      const stack = use();
      const userId = randomUUID();
      await setLimit(stack, userId, 1);
      const id = await submitted(stack, userId);
      await claimJobs(stack.database.db, {
        workerId: 'dead-worker',
        limit: 1,
        leaseMs: 60_000,
        recipes: ['flashcards'],
      });
      const reap = () =>
        reapJobs(stack.database.db, { runningTimeoutMs: 0, recipes: ['flashcards'] });
      expect((await reap()).timedOut).toBe(1);
      expect((await reap()).timedOut).toBe(0);
      expect(await jobStatus(stack, id)).toBe('timed_out');
      expect((await ledger(stack, id)).map((entry) => entry.kind)).toEqual(['reserve', 'refund']);
      expect(await committed(stack, userId)).toBeCloseTo(0, 12);

      await adminRetry(stack.database.db, id);
      const reopened = await ledger(stack, id);
      expect(reopened.map((entry) => entry.kind)).toEqual(['reserve', 'refund', 'reserve']);
      expect(reopened.filter((entry) => entry.idempotency_key === `reserve:${id}`)).toHaveLength(1);
      expect(reopened[2]!.amount_usd).toBeCloseTo(reopened[0]!.amount_usd, 12);
      await withWorker(stack);
      await finished(stack, id);
      const after = await ledger(stack, id);
      expect(after.map((entry) => entry.kind)).toEqual(['reserve', 'refund', 'reserve', 'settle']);
      expect(await committed(stack, userId)).toBeCloseTo(after[3]!.cost_usd!, 9);
      const status = await selectBudgetStatus(stack.database.db, userId, new Date());
      expect(status?.reservedUsd).toBe(0);
      expect(status?.spentUsd).toBeCloseTo(after[3]!.cost_usd!, 9);
    });

    it('a user without a budget: no reservation, no cap sent, the job runs as before', async () => {
      const stack = use();
      await withWorker(stack);
      // Budgets exist for others (earlier tests); this user has none.
      const userId = randomUUID();
      const marker = `Marker ${randomUUID()}.`;
      const id = await submitted(stack, userId, {}, `${marker} ${SOURCE}`);
      await finished(stack, id);
      expect(await ledger(stack, id)).toEqual([]);
      const { rows } = await stack.database.db.query<{ input: Record<string, unknown> }>(
        'select input from public.ai_generations where id = $1',
        [id],
      );
      expect(rows[0]!.input).not.toHaveProperty('max_output_tokens');
      const sent = stack.simulator
        .requests()
        .filter((request) => JSON.stringify(request.body).includes(marker));
      expect(sent.length).toBeGreaterThan(0);
      for (const request of sent) expect(request.body).not.toHaveProperty('max_tokens');
    });
  },
  { GENLOOP_RATE_LIMIT_FLASHCARDS: '1000/1m' },
);
