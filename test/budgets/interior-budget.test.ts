import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { selectBudgetStatus, upsertUserLimit } from '../../src/sql/budgets.ts';
import { claimJobs } from '../../src/sql/claim-jobs.ts';
import {
  describeEachInteriorStack,
  eventually,
  type InteriorStack,
  json,
  submit,
  waitForStatus,
} from '../interior/stack.ts';

/** flux-dev, the default model of the replicate row, at its built-in per-image price. */
const PER_IMAGE = 0.025;

async function setLimit(stack: InteriorStack, userId: string, limitUsd: number) {
  await upsertUserLimit(stack.database.db, { userId, limitUsd, period: 'day' });
  stack.services.budgets.invalidate();
}

function imagine(stack: InteriorStack, token: string, variants: number, simulate?: string) {
  return submit(
    stack,
    token,
    {
      mode: 'imagine',
      prompt: `a bright sunroom, ref ${randomUUID()}`,
      quality: 'draft',
      variants,
    },
    simulate ? { 'x-genloop-simulate': simulate } : {},
  );
}

async function budgetLedger(stack: InteriorStack, jobId: string) {
  const { rows } = await stack.database.db.query<{
    kind: string;
    amount_usd: number;
    cost_usd: number | null;
  }>(
    `select kind, amount_usd::float8 as amount_usd, cost_usd::float8 as cost_usd
       from public.budget_ledger where reservation_id = $1 order by id`,
    [jobId],
  );
  return rows;
}

async function committed(stack: InteriorStack, userId: string): Promise<number> {
  const { rows } = await stack.database.db.query<{ sum: number }>(
    'select coalesce(sum(amount_usd), 0)::float8 as sum from public.budget_ledger where user_id = $1',
    [userId],
  );
  return rows[0]!.sum;
}

describeEachInteriorStack('dollar budgets on interior renders', (use) => {
  it('records what a render cost on the job, its attempt and its telemetry, and settles it', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    await setLimit(stack, userId, 1);
    const token = await stack.token(userId);
    const created = await imagine(stack, token, 2);
    expect(created.status).toBe(202);
    const { id } = await json(created);
    await waitForStatus(stack, token, id, ['succeeded']);
    const row = await eventually(async () => {
      const { rows } = await stack.database.db.query<{
        job: number;
        example: number;
        attempt: number;
      }>(
        `select g.cost_usd::float8 as job, e.cost_usd::float8 as example, a.cost_usd::float8 as attempt
           from public.ai_generations g
           join public.ai_training_examples e on e.generation_id = g.id
           join public.ai_provider_attempts a on a.training_example_id = e.id and a.status = 'succeeded'
          where g.id = $1`,
        [id],
      );
      return rows[0];
    });
    // Two variants of flux-dev at its per-image price, recorded in all three places.
    expect(row.job).toBeCloseTo(2 * PER_IMAGE, 9);
    expect(row.example).toBeCloseTo(2 * PER_IMAGE, 6);
    expect(row.attempt).toBeCloseTo(2 * PER_IMAGE, 9);
    const entries = await budgetLedger(stack, id);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
    // The reservation covered every variant.
    expect(entries[0]!.amount_usd).toBeCloseTo(2 * PER_IMAGE, 9);
    expect(entries[1]!.cost_usd).toBeCloseTo(2 * PER_IMAGE, 9);
    expect(await committed(stack, userId)).toBeCloseTo(2 * PER_IMAGE, 9);
    await stack.stopWorkers();
  });

  it('a spent budget refuses the next render at submit: 402 budget_exceeded, nothing queued', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    await setLimit(stack, userId, 0.06);
    const token = await stack.token(userId);
    const first = await imagine(stack, token, 2);
    expect(first.status).toBe(202);
    await waitForStatus(stack, token, (await json(first)).id, ['succeeded']);
    const refused = await imagine(stack, token, 1);
    expect(refused.status).toBe(402);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await json(refused)).toMatchObject({ status: 402, code: 'budget_exceeded' });
    const { rows } = await stack.database.db.query<{ n: number }>(
      'select count(*)::int as n from public.ai_generations where user_id = $1',
      [userId],
    );
    expect(rows[0]!.n).toBe(1);
    expect(await committed(stack, userId)).toBeCloseTo(2 * PER_IMAGE, 9);
    await stack.stopWorkers();
  });

  it('40 concurrent submissions never commit more than the budget', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const limit = 0.06;
    await setLimit(stack, userId, limit);
    const token = await stack.token(userId);
    const responses = await Promise.all(Array.from({ length: 40 }, () => imagine(stack, token, 2)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => [202, 402, 409].includes(status))).toBe(true);
    expect(statuses.filter((status) => status === 202)).toHaveLength(1);
    expect(await committed(stack, userId)).toBeLessThanOrEqual(limit);
    const accepted = responses[statuses.indexOf(202)]!;
    await waitForStatus(stack, token, (await json(accepted)).id, ['succeeded']);
    const status = await selectBudgetStatus(stack.database.db, userId, new Date());
    expect(status?.reservedUsd).toBe(0);
    expect(status!.spentUsd).toBeLessThanOrEqual(limit);
    await stack.stopWorkers();
  });

  it('a failed prediction is refunded in full', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    await setLimit(stack, userId, 1);
    const token = await stack.token(userId);
    const created = await imagine(stack, token, 1, 'replicate=fail');
    expect(created.status).toBe(202);
    const { id } = await json(created);
    await waitForStatus(stack, token, id, ['failed']);
    expect((await budgetLedger(stack, id)).map((entry) => entry.kind)).toEqual([
      'reserve',
      'refund',
    ]);
    expect(await committed(stack, userId)).toBeCloseTo(0, 12);
    await stack.stopWorkers();
  });

  it('a canceled render is refunded once', async () => {
    const stack = use();
    const userId = randomUUID();
    await setLimit(stack, userId, 1);
    const token = await stack.token(userId);
    const created = await imagine(stack, token, 3);
    const { id } = await json(created);
    const cancel = () => stack.fetch(`/api/v1/generations/${id}/cancel`, { token, method: 'POST' });
    expect((await cancel()).status).toBe(200);
    expect((await cancel()).status).toBe(409);
    const entries = await budgetLedger(stack, id);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'refund']);
    expect(entries[0]!.amount_usd).toBeCloseTo(3 * PER_IMAGE, 9);
    expect(await committed(stack, userId)).toBeCloseTo(0, 12);
  });

  it('a render reclaimed after its worker died settles exactly once', async () => {
    const stack = use();
    const userId = randomUUID();
    await setLimit(stack, userId, 1);
    const token = await stack.token(userId);
    const created = await imagine(stack, token, 1);
    const { id } = await json(created);
    const [claimed] = await claimJobs(stack.database.db, {
      workerId: 'dead-worker',
      limit: 1,
      leaseMs: 300,
      recipes: ['interior'],
    });
    expect(claimed?.id).toBe(id);
    await stack.startWorker({ leaseMs: 600 });
    await waitForStatus(stack, token, id, ['succeeded']);
    const entries = await budgetLedger(stack, id);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
    expect(await committed(stack, userId)).toBeCloseTo(PER_IMAGE, 9);
    await stack.stopWorkers();
  });

  it('a user without a budget: no reservation, cost still recorded', async () => {
    const stack = use();
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const created = await imagine(stack, token, 1);
    expect(created.status).toBe(202);
    const { id } = await json(created);
    await waitForStatus(stack, token, id, ['succeeded']);
    expect(await budgetLedger(stack, id)).toEqual([]);
    const { rows } = await stack.database.db.query<{ cost: number }>(
      'select cost_usd::float8 as cost from public.ai_generations where id = $1',
      [id],
    );
    expect(rows[0]!.cost).toBeCloseTo(PER_IMAGE, 9);
    await stack.stopWorkers();
  });
});
