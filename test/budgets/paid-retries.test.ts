import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { selectBudgetStatus, upsertUserLimit } from '../../src/sql/budgets.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

/**
 * A reservation covers one call. When an answer is paid for and then refused (a site that fails
 * its schema), the route tries another provider, which costs a second call: before that attempt
 * the reservation grows by one call, or the route stops with 402 when the budget cannot cover
 * it. So even then concurrent calls never commit more than the limit.
 */

/** openai answers with text that is not JSON: paid for, refused, then the route falls back. */
const INVALID_FIRST = { 'x-genloop-simulate': 'openai=invalid-json' };

async function generateSite(
  stack: Stack,
  userId: string,
  prompt = 'A tea room in Bendigo',
  headers: Record<string, string> = INVALID_FIRST,
) {
  return stack.app.request('/functions/v1/generate-site', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await stack.token(userId)}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify({ prompt }),
  });
}

async function ledger(stack: Stack, userId: string) {
  const { rows } = await stack.database.db.query<{
    kind: string;
    amount_usd: number;
    cost_usd: number | null;
    metadata: Record<string, unknown>;
  }>(
    `select kind, amount_usd::float8 as amount_usd, cost_usd::float8 as cost_usd, metadata
       from public.budget_ledger where user_id = $1 order by id`,
    [userId],
  );
  return rows;
}

async function committed(stack: Stack, userId: string): Promise<number> {
  const { rows } = await stack.database.db.query<{ sum: number }>(
    'select coalesce(sum(amount_usd), 0)::float8 as sum from public.budget_ledger where user_id = $1',
    [userId],
  );
  return rows[0]!.sum;
}

async function setLimit(stack: Stack, userId: string, limitUsd: number): Promise<void> {
  await upsertUserLimit(stack.database.db, { userId, limitUsd, period: 'day' });
  stack.services.budgets.invalidate();
}

const chatCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/chat\/completions$/ }).length;

describeEachStack('budgets when a paid answer is refused and the route tries again', (use) => {
  /** What one generate-site call reserves, measured on a call that needs no second attempt. */
  let callUsd = 0;

  beforeAll(async () => {
    const stack = use();
    // Every fallback priced like openai's model, so that every attempt has a known cost.
    await stack.database.db.query(
      `update ai_provider_configs set model = 'gpt-4o-mini' where environment = 'prod'`,
    );
    stack.services.configs.invalidate();
    const userId = randomUUID();
    await setLimit(stack, userId, 1);
    expect((await generateSite(stack, userId, 'A tea room in Bendigo', {})).status).toBe(200);
    callUsd = (await ledger(stack, userId))[0]!.amount_usd;
  });

  it('the reservation grows by one call before the second attempt, and settles both', async () => {
    const stack = use();
    const userId = randomUUID();
    await setLimit(stack, userId, 1);
    const response = await generateSite(stack, userId);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { requestId: string; fallbackUsed: boolean };
    expect(body.fallbackUsed).toBe(true);

    const entries = await ledger(stack, userId);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
    const reserve = entries[0]!;
    expect(Number(reserve.metadata.call_usd)).toBeCloseTo(callUsd, 9);
    expect(reserve.metadata.extensions).toBe(1);
    expect(reserve.amount_usd).toBeCloseTo(2 * callUsd, 9);

    const attempts = await eventually(async () => {
      await stack.services.telemetry.flush();
      const { rows } = await stack.database.db.query<{
        error_class: string | null;
        cost_usd: number;
      }>(
        `select error_class, cost_usd::float8 as cost_usd from ai_provider_attempts
          where request_id = $1 order by attempt_no`,
        [body.requestId],
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(attempts[0]!.error_class).toBe('invalid_output');
    const paid = attempts.reduce((sum, attempt) => sum + attempt.cost_usd, 0);
    // Both paid answers are spent, nothing more stays reserved.
    expect(entries[1]!.cost_usd).toBeCloseTo(paid, 9);
    expect(await committed(stack, userId)).toBeCloseTo(paid, 9);
    expect((await selectBudgetStatus(stack.database.db, userId, new Date()))?.reservedUsd).toBe(0);
  });

  it('a budget that covers one call but not two stops the route with 402 after the paid answer', async () => {
    const stack = use();
    const userId = randomUUID();
    const limit = 1.5 * callUsd;
    await setLimit(stack, userId, limit);
    const calls = chatCalls(stack);
    const response = await generateSite(stack, userId);
    expect(response.status).toBe(402);
    expect(((await response.json()) as { code: string }).code).toBe('budget_exceeded');
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    // The refused answer was the only call: no second provider was asked.
    expect(chatCalls(stack)).toBe(calls + 1);
    const entries = await ledger(stack, userId);
    expect(entries.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
    expect(entries[0]!.amount_usd).toBeCloseTo(callUsd, 9);
    expect(entries[1]!.cost_usd).toBeGreaterThan(0);
    expect(await committed(stack, userId)).toBeLessThanOrEqual(limit);
    const row = await eventually(async () => {
      await stack.services.telemetry.flush();
      const { rows } = await stack.database.db.query<{ status: string; error: { code: string } }>(
        'select status, error from ai_training_examples where user_id = $1',
        [userId],
      );
      return rows[0];
    });
    expect(row).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
  });

  it('concurrent calls that each pay for a refused answer never commit more than the limit', async () => {
    const stack = use();
    const userId = randomUUID();
    const limit = 5.5 * callUsd;
    await setLimit(stack, userId, limit);
    // One call alone first: it pays for two answers and is served. Which of the concurrent ones
    // get through depends on how they interleave (on a slow machine all of them reserve before
    // any grows its reservation, and all stop with 402), so the 200 is not left to timing.
    const first = await generateSite(stack, userId);
    const responses = [
      first,
      ...(await Promise.all(Array.from({ length: 11 }, () => generateSite(stack, userId)))),
    ];
    expect(first.status).toBe(200);
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 402)).toBe(true);
    expect(statuses).toContain(200);
    expect(statuses).toContain(402);
    const status = await selectBudgetStatus(stack.database.db, userId, new Date());
    expect(status?.reservedUsd).toBe(0);
    expect(status!.spentUsd).toBeLessThanOrEqual(limit);
    expect(await committed(stack, userId)).toBeLessThanOrEqual(limit);
    // Every paid call was reserved for before it was made (each may cost up to one call's
    // reservation), and what the reservations held never passed the limit at any point.
    // Telemetry is recorded before each answer is sent: one flush writes all of it.
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query<{ n: number }>(
      `select count(*)::int as n
         from ai_training_examples e join ai_provider_attempts a on a.training_example_id = e.id
        where e.user_id = $1 and (a.status = 'succeeded' or a.error_class = 'invalid_output')`,
      [userId],
    );
    const paid = rows[0]!.n;
    expect(paid).toBeGreaterThan(0);
    const reserved = (await ledger(stack, userId))
      .filter((entry) => entry.kind === 'reserve')
      .reduce((sum, entry) => sum + entry.amount_usd, 0);
    expect(reserved).toBeGreaterThanOrEqual(paid * callUsd - 1e-9);
  });
});
