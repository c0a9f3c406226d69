import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { BudgetGate } from '../../src/budgets/gate.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { PriceBook } from '../../src/providers/pricing.ts';
import {
  chargeLateSuccess,
  extendReservation,
  finishReservations,
  reReserveRetried,
  reserveBudget,
  selectBudgetStatus,
  upsertPlan,
  upsertUserLimit,
} from '../../src/sql/budgets.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

const admin = (stack: Stack) => stack.token(randomUUID(), 'service_role');

async function chat(
  stack: Stack,
  userId: string,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return stack.app.request('/v1/chat/completions', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await stack.token(userId)}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify({
      model: 'default',
      max_tokens: 40,
      messages: [{ role: 'user', content: 'Say something short about budgets.' }],
      ...body,
    }),
  });
}

async function ledger(stack: Stack, userId: string) {
  const { rows } = await stack.database.db.query<{
    kind: string;
    amount_usd: number;
    cost_usd: number | null;
  }>('select kind, amount_usd, cost_usd from public.budget_ledger where user_id = $1 order by id', [
    userId,
  ]);
  return rows;
}

describeEachStack('dollar budgets', (use) => {
  it('records the cost of every answered call from the provider usage', async () => {
    const stack = use();
    const userId = randomUUID();
    const response = await chat(stack, userId);
    expect(response.status).toBe(200);
    const completion = (await response.json()) as {
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    const expected =
      (completion.usage.prompt_tokens * 0.15 + completion.usage.completion_tokens * 0.6) / 1e6;
    const row = await eventually(async () => {
      const { rows } = await stack.database.db.query<{
        cost_usd: number | null;
        attempt_cost: number | null;
      }>(
        `select e.cost_usd, a.cost_usd as attempt_cost
           from public.ai_training_examples e
           join public.ai_provider_attempts a on a.training_example_id = e.id
          where e.user_id = $1`,
        [userId],
      );
      return rows[0];
    });
    // The training row keeps micro-dollars (its column's scale); the attempt keeps 1e-10.
    expect(row.cost_usd).toBeCloseTo(expected, 6);
    expect(row.attempt_cost).toBeCloseTo(expected, 12);
    // No budget was set: nothing was reserved.
    expect(await ledger(stack, userId)).toEqual([]);
  });

  it("a provider's own cost figure beats the price table", async () => {
    const stack = use();
    await stack.database.db.query(
      `update public.ai_provider_configs
          set metadata = metadata || '{"prices": {"openai/gpt-4o-mini": {"input": 500, "output": 500}}}'
        where provider = 'openrouter' and environment = 'prod'`,
    );
    stack.services.configs.invalidate();
    const userId = randomUUID();
    const response = await chat(stack, userId, { model: 'openrouter/openai/gpt-4o-mini' });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as { usage: { cost: number } };
    expect(completion.usage.cost).toBeGreaterThan(0);
    const row = await eventually(async () => {
      const { rows } = await stack.database.db.query<{ cost_usd: number | null }>(
        'select a.cost_usd from public.ai_provider_attempts a join public.ai_training_examples e on e.id = a.training_example_id where e.user_id = $1',
        [userId],
      );
      return rows[0];
    });
    expect(row.cost_usd).toBeCloseTo(completion.usage.cost, 12);
    await stack.database.db.query(
      `update public.ai_provider_configs set metadata = metadata - 'prices'
        where provider = 'openrouter' and environment = 'prod'`,
    );
    stack.services.configs.invalidate();
  });

  it('an unpriced model costs null (unknown), never 0', async () => {
    const stack = use();
    const userId = randomUUID();
    const response = await chat(stack, userId, { model: 'custom/house-model-7b' });
    expect(response.status).toBe(200);
    const row = await eventually(async () => {
      const { rows } = await stack.database.db.query<{
        cost_usd: number | null;
        tokens_output: number | null;
      }>('select cost_usd, tokens_output from public.ai_training_examples where user_id = $1', [
        userId,
      ]);
      return rows[0];
    });
    expect(row.tokens_output).toBeGreaterThan(0);
    expect(row.cost_usd).toBeNull();
  });

  it('40 concurrent calls of a user never commit more than the budget', async () => {
    const stack = use();
    const userId = randomUUID();
    const limit = 0.0004;
    await upsertUserLimit(stack.database.db, { userId, limitUsd: limit, period: 'day' });
    stack.services.budgets.invalidate();
    const responses = await Promise.all(Array.from({ length: 40 }, () => chat(stack, userId)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);
    const status = await selectBudgetStatus(stack.database.db, userId, new Date());
    expect(status?.reservedUsd).toBe(0);
    expect(status!.spentUsd).toBeGreaterThan(0);
    expect(status!.spentUsd).toBeLessThanOrEqual(limit);
    // The ledger's settled costs are the costs recorded on the attempts.
    const settled = (await ledger(stack, userId)).filter((entry) => entry.kind === 'settle');
    expect(settled).toHaveLength(statuses.filter((s) => s === 200).length);
    const attempts = await eventually(async () => {
      const { rows } = await stack.database.db.query<{ total: number; n: number }>(
        `select coalesce(sum(a.cost_usd), 0)::float8 as total, count(*)::int as n
           from public.ai_provider_attempts a
           join public.ai_training_examples e on e.id = a.training_example_id
          where e.user_id = $1`,
        [userId],
      );
      return rows[0]!.n === settled.length ? rows[0] : undefined;
    });
    expect(attempts.total).toBeCloseTo(status!.spentUsd, 9);
  });

  it('refused: 402 budget_exceeded with Retry-After, in OpenAI error shape on /v1', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 0.00001, period: 'day' });
    stack.services.budgets.invalidate();
    const before = stack.simulator.requests().length;
    const response = await chat(stack, userId);
    expect(response.status).toBe(402);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const body = (await response.json()) as { code: string; error: { code: string; type: string } };
    expect(body.code).toBe('budget_exceeded');
    expect(body.error).toMatchObject({ code: 'budget_exceeded', type: 'insufficient_quota' });
    // Refused before any provider call, and nothing reserved.
    expect(stack.simulator.requests().length).toBe(before);
    expect(await ledger(stack, userId)).toEqual([]);
  });

  it('refused on generate-site as problem+json 402', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 0.0001, period: 'month' });
    stack.services.budgets.invalidate();
    const response = await stack.app.request('/functions/v1/generate-site', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await stack.token(userId)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ prompt: 'A bakery in Lisbon' }),
    });
    expect(response.status).toBe(402);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ status: 402, code: 'budget_exceeded' });
  });

  it('generate-site settles its real cost against the budget', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 1, period: 'day' });
    stack.services.budgets.invalidate();
    const response = await stack.app.request('/functions/v1/generate-site', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await stack.token(userId)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ prompt: 'A bakery in Lisbon' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { costUsd: number | null } };
    expect(body.usage.costUsd).toBeGreaterThan(0);
    const entries = await ledger(stack, userId);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
    expect(entries[1]!.cost_usd).toBeCloseTo(body.usage.costUsd!, 12);
    expect(entries[0]!.amount_usd).toBeGreaterThan(body.usage.costUsd!);
  });

  it('a call that fails is refunded in full', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 1, period: 'day' });
    stack.services.budgets.invalidate();
    const response = await chat(
      stack,
      userId,
      {},
      { 'x-genloop-simulate': 'openai=error:503;custom=error:503;openrouter=error:503' },
    );
    expect(response.status).toBeGreaterThanOrEqual(500);
    const entries = await ledger(stack, userId);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'refund']);
    expect(entries[0]!.amount_usd + entries[1]!.amount_usd).toBe(0);
    const status = await selectBudgetStatus(stack.database.db, userId, new Date());
    expect(status).toMatchObject({ spentUsd: 0, reservedUsd: 0 });
  });

  it('a streamed call settles the cost of its final usage', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 1, period: 'day' });
    stack.services.budgets.invalidate();
    const response = await chat(stack, userId, { stream: true });
    expect(response.status).toBe(200);
    await response.text();
    const entries = await eventually(async () => {
      const rows = await ledger(stack, userId);
      return rows.length === 2 ? rows : undefined;
    });
    expect(entries[1]).toMatchObject({ kind: 'settle' });
    expect(entries[1]!.cost_usd).toBeGreaterThan(0);
  });

  it('plans apply to their users, and a user limit beats the plan', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await admin(stack);
    const put = (path: string, body: unknown) =>
      stack.app.request(`/api/v1/admin/budgets${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put('/plans/free', { usd: '0.5', period: 'day' })).status).toBe(200);
    expect((await put(`/users/${userId}/plan`, { plan: 'free' })).status).toBe(200);
    const status = async () =>
      (
        await stack.app.request(`/api/v1/admin/budgets/users/${userId}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json() as Promise<Record<string, unknown>>;
    expect(await status()).toMatchObject({
      limit_usd: 0.5,
      period: 'day',
      source: 'plan',
      plan: 'free',
      spent_usd: 0,
    });
    expect((await put(`/users/${userId}`, { usd: 2, period: 'month' })).status).toBe(200);
    const own = await status();
    expect(own).toMatchObject({ limit_usd: 2, period: 'month', source: 'user', plan: 'free' });
    expect(new Date(String(own.resets_at)).getUTCDate()).toBe(1);
    // Changing the plan does not touch the user's own limit.
    expect((await put('/plans/free', { usd: 0.1, period: 'day' })).status).toBe(200);
    expect(await status()).toMatchObject({ limit_usd: 2, source: 'user' });
    const plans = await stack.app.request('/api/v1/admin/budgets/plans', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await plans.json()).toMatchObject({
      data: expect.arrayContaining([expect.objectContaining({ name: 'free', limit_usd: 0.1 })]),
    });
  });

  it('bad input is a 400 naming the field, and changes nothing', async () => {
    const stack = use();
    const userId = randomUUID();
    const token = await admin(stack);
    const put = (path: string, body: unknown) =>
      stack.app.request(`/api/v1/admin/budgets${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cases: [string, unknown, string][] = [
      [`/users/${userId}`, { usd: -1, period: 'day' }, 'body.usd'],
      [`/users/${userId}`, { usd: 1e12, period: 'day' }, 'body.usd'],
      [`/users/${userId}`, { usd: 'NaN', period: 'day' }, 'body.usd'],
      [`/users/${userId}`, { usd: 1, period: 'week' }, 'body.period'],
      ['/users/not-a-uuid', { usd: 1, period: 'day' }, 'path.user_id'],
      ['/plans/Bad%20Name!', { usd: 1, period: 'day' }, 'body.plan'],
      [`/users/${userId}/plan`, { plan: 'Bad Name!' }, 'body.plan'],
    ];
    for (const [path, body, field] of cases) {
      const response = await put(path, body);
      expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      const problem = (await response.json()) as { errors: { field: string }[] };
      expect(problem.errors.map((error) => error.field)).toContain(field);
    }
    const missing = await put(`/users/${userId}/plan`, { plan: 'no-such-plan' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'plan_not_found' });
    const { rows } = await stack.database.db.query(
      `select 1 from public.budget_users where user_id = $1
       union all select 1 from public.budget_plans where name in ('bad name!', 'no-such-plan')`,
      [userId],
    );
    expect(rows).toEqual([]);
  });

  it('a day budget resets at midnight UTC', async () => {
    const stack = use();
    const { db } = stack.database;
    const userId = randomUUID();
    await upsertPlan(db, { name: 'tiny', limitUsd: 0.0001, period: 'day' });
    await upsertUserLimit(db, { userId, limitUsd: 0.0001, period: 'day' });
    let now = new Date('2026-03-01T23:59:58Z');
    const gate = new BudgetGate({
      db,
      prices: new PriceBook(),
      logger: createLogger({ logLevel: 'silent' }),
      defaultMaxOutputTokens: 100,
      now: () => now,
    });
    const call = () =>
      gate.reserve({
        userId,
        reservationId: randomUUID(),
        promptBytes: 100,
        maxOutputTokens: 100,
        candidates: () => [{ provider: 'openai' as const, model: 'gpt-4o-mini' }],
      });
    const first = await call();
    expect(first?.amountUsd).toBeCloseTo((116 * 0.15 + 100 * 0.6) / 1e6, 12);
    await first!.settle(0.00005);
    const refused = await call().catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'budget_exceeded', retryAfterMs: 2_000 });
    now = new Date('2026-03-02T00:00:01Z');
    const next = await call();
    expect(next).toBeDefined();
    await next!.refund();
    const status = await selectBudgetStatus(db, userId, now);
    expect(status).toMatchObject({ spentUsd: 0, reservedUsd: 0 });
    expect(status?.resetsAt.toISOString()).toBe('2026-03-03T00:00:00.000Z');
  });

  it("keeps each period's running total equal to the sums of its ledger entries", async () => {
    const stack = use();
    const { db } = stack.database;
    const [a, b] = [randomUUID(), randomUUID()];
    await upsertUserLimit(db, { userId: a, limitUsd: 1, period: 'day' });
    await upsertUserLimit(db, { userId: b, limitUsd: 1, period: 'month' });
    const now = new Date();
    const ids = Array.from({ length: 6 }, () => randomUUID());
    for (const [index, id] of ids.entries()) {
      const outcome = await reserveBudget(db, {
        userId: index % 2 === 0 ? a : b,
        reservationId: id,
        amountUsd: 0.001 * (index + 1),
        now,
      });
      expect(outcome.kind).toBe('reserved');
    }
    // A repeated reservation id writes nothing more.
    await reserveBudget(db, { userId: a, reservationId: ids[0]!, amountUsd: 0.5, now });
    await extendReservation(db, { reservationId: ids[1]!, extensions: 2 });
    // One statement ending reservations of both users, in the order they were made.
    await finishReservations(db, [
      { reservationId: ids[0]!, outcome: 'settle', costUsd: 0.0004 },
      { reservationId: ids[1]!, outcome: 'settle', costUsd: null },
      { reservationId: ids[2]!, outcome: 'refund' },
      { reservationId: ids[3]!, outcome: 'settle', costUsd: 0.0123 },
    ]);
    expect(await chargeLateSuccess(db, { reservationId: ids[2]!, costUsd: 0.0007 })).toBe(true);
    expect(await reReserveRetried(db, ids[3]!, now)).toBe(true);
    await db.query(`delete from public.budget_ledger where idempotency_key = $1`, [
      `reserve:${ids[5]}`,
    ]);

    const { rows: totals } = await db.query<{
      user_id: string;
      committed: number;
      settled: number;
      ledger_committed: number;
      ledger_settled: number;
    }>(
      `select s.user_id, s.committed_usd::float8 as committed,
              s.settled_cost_usd::float8 as settled,
              l.committed::float8 as ledger_committed, l.settled::float8 as ledger_settled
         from public.budget_spend s
         join (select user_id, period_start, sum(amount_usd) as committed,
                      coalesce(sum(cost_usd) filter (where kind = 'settle'), 0) as settled
                 from public.budget_ledger group by user_id, period_start) l
           on l.user_id = s.user_id and l.period_start = s.period_start
        where s.user_id = any($1::uuid[])`,
      [[a, b]],
    );
    expect(totals).toHaveLength(2);
    for (const row of totals) {
      expect(row.committed).toBeCloseTo(row.ledger_committed, 10);
      expect(row.settled).toBeCloseTo(row.ledger_settled, 10);
    }
    const statusA = await selectBudgetStatus(db, a, now);
    // a: 0.0004 settled, 0.003 refunded then charged 0.0007 late, 0.005 open (the one deleted was b's).
    expect(statusA?.spentUsd).toBeCloseTo(0.0004 + 0.0007, 10);
    expect(statusA?.reservedUsd).toBeCloseTo(0.005, 10);
    const statusB = await selectBudgetStatus(db, b, now);
    // b: 0.002 grown to three calls and settled at an unknown cost (kept as spent: 0.006),
    // 0.0123 settled before the retry re-reserved 0.004, and 0.006 deleted.
    expect(statusB?.spentUsd).toBeCloseTo(0.006 + 0.0123, 10);
    expect(statusB?.reservedUsd).toBeCloseTo(0.004, 10);
  });
});
