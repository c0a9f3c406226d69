import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { assignBudgetPlan, setBudget } from '../../src/budgets/admin.ts';
import type { Spend } from '../../src/console/contract.ts';
import type { Queryable } from '../../src/db/types.ts';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachWith } from '../helpers/stack.ts';
import { admin, ok, startAdminStack } from './admin-fixtures.ts';

const HOUR = 3_600_000;

/** A telemetry row with a cost, as a priced generation records it. */
async function insertCost(
  db: Queryable,
  seed: { userId: string | null; provider: string; costUsd: number | null; ageMs?: number },
): Promise<void> {
  await db.query(
    `insert into public.ai_training_examples
       (user_id, source, recipe, status, request_id, route_strategy, prompt_template_version,
        selected_provider, latency_ms, cost_usd, created_at)
     values ($1, 'generation', 'gateway', 'succeeded', gen_random_uuid(), 'fallback', 'v1',
             $2, 100, $3, now() - make_interval(secs => $4::double precision / 1000))`,
    [seed.userId, seed.provider, seed.costUsd, seed.ageMs ?? 60_000],
  );
}

describeEachWith('admin API: spend and budgets', startAdminStack, (use) => {
  // Twelve users: user n spends (n + 1) × $0.001 on openai, the first three $0.0105 more on custom.
  const users = Array.from({ length: 12 }, () => randomUUID());

  it('says so plainly when nothing has a cost yet', async () => {
    const spend = await ok<Spend>(await admin(use(), '/spend?window=24h'));
    expect(spend).toMatchObject({
      window: '24h',
      read_from: 'rollup',
      total_usd: 0,
      calls: 0,
      unpriced_calls: 0,
      by_provider: [],
      top_users: [],
      budgets: { plans: [], user_limits: [], user_limits_total: 0 },
    });
  });

  // Seeded by the first test that needs it, after the one that sees an empty database.
  let seeded: Promise<void> | undefined;
  const seed = () => {
    seeded ??= seedSpend();
    return seeded;
  };
  async function seedSpend(): Promise<void> {
    const { db } = use().database;
    for (const [index, user] of users.entries()) {
      await insertCost(db, { userId: user, provider: 'openai', costUsd: (index + 1) * 0.001 });
      if (index < 3) await insertCost(db, { userId: user, provider: 'custom', costUsd: 0.0105 });
    }
    // Unknown cost, no user, and too old for a day (and for the two UTC days the top users of a
    // day may span) but not for a week: each counted only where it belongs.
    await insertCost(db, { userId: users[0]!, provider: 'openai', costUsd: null });
    await insertCost(db, { userId: null, provider: 'openrouter', costUsd: 0.5 });
    await insertCost(db, { userId: users[0]!, provider: 'openai', costUsd: 1, ageMs: 50 * HOUR });
    await setBudget(db, { plan: 'free', usd: 0.05, period: 'day' });
    await assignBudgetPlan(db, { user: users[11], plan: 'free' });
    await setBudget(db, { user: users[10], usd: 2, period: 'month' });
  }

  it('sums spend per provider and for the users who spent most, with their budgets', async () => {
    await seed();
    const spend = await ok<Spend>(await admin(use(), '/spend?window=24h'));
    expect(spend.read_from).toBe('rollup');
    expect(Date.parse(spend.to) - Date.parse(spend.from)).toBeLessThanOrEqual(25 * HOUR);
    expect(Date.parse(spend.from) % HOUR).toBe(0);
    // Spend per user is kept per UTC day: the top users count from the midnight before `from`.
    expect(spend.users_from).toBe(`${spend.from.slice(0, 10)}T00:00:00.000Z`);
    expect(spend.calls).toBe(12 + 3 + 1);
    expect(spend.unpriced_calls).toBe(1);
    expect(spend.total_usd).toBeCloseTo(0.078 + 0.0315 + 0.5, 9);
    expect(spend.by_provider.map((row) => [row.provider, row.calls])).toEqual([
      ['openrouter', 1],
      ['openai', 12],
      ['custom', 3],
    ]);
    expect(spend.by_provider[1]!.cost_usd).toBeCloseTo(0.078, 9);

    // Ten users at most, most first; custom calls lift the first three, but not all of them.
    expect(spend.top_users).toHaveLength(10);
    expect(spend.top_users.slice(0, 4).map((row) => row.user_id)).toEqual([
      users[2],
      users[1],
      users[11],
      users[0],
    ]);
    expect(spend.top_users[0]).toMatchObject({ calls: 2, budget: null });
    expect(spend.top_users[0]!.cost_usd).toBeCloseTo(0.0135, 9);
    expect(spend.top_users[2]!.budget).toEqual({
      limit_usd: 0.05,
      period: 'day',
      source: 'plan',
      plan: 'free',
    });
    expect(spend.top_users.find((row) => row.user_id === users[10])!.budget).toMatchObject({
      limit_usd: 2,
      period: 'month',
      source: 'user',
    });
    expect(spend.top_users.map((row) => row.user_id)).not.toContain(users[3]);

    expect(spend.budgets).toEqual({
      plans: [{ name: 'free', limit_usd: 0.05, period: 'day', users: 1 }],
      user_limits: [
        { user_id: users[10], limit_usd: 2, period: 'month', source: 'user', plan: null },
      ],
      user_limits_total: 1,
    });
  });

  it('sums a real week from the rollups and the last hour from the rows; refuses an unknown window', async () => {
    await seed();
    const stack = use();
    const week = await ok<Spend>(await admin(stack, '/spend?window=7d'));
    expect(week).toMatchObject({ window: '7d', read_from: 'rollup', calls: 17, unpriced_calls: 1 });
    expect(Date.parse(week.to) - Date.parse(week.from)).toBeGreaterThan(7 * 24 * HOUR);
    // The $1 call of 50 hours ago is in the week, and lifts its user to the top.
    expect(week.total_usd).toBeCloseTo(1.6095, 9);
    expect(week.by_provider[0]).toMatchObject({ provider: 'openai', calls: 13 });
    expect(week.by_provider[0]!.cost_usd).toBeCloseTo(1.078, 9);
    expect(week.top_users[0]).toMatchObject({ user_id: users[0], calls: 3 });
    expect(week.top_users[0]!.cost_usd).toBeCloseTo(1.0115, 9);

    // The last hour is summed from its rows, to the minute, and agrees with the rollups.
    const hour = await ok<Spend>(await admin(stack, '/spend?window=1h'));
    const day = await ok<Spend>(await admin(stack, '/spend?window=24h'));
    expect(hour).toMatchObject({ read_from: 'raw', calls: 16, unpriced_calls: 1 });
    expect(hour.users_from).toBe(hour.from);
    expect(hour.total_usd).toBeCloseTo(day.total_usd, 9);
    expect(hour.by_provider).toEqual(
      day.by_provider.map((row) => ({ ...row, cost_usd: expect.closeTo(row.cost_usd, 9) })),
    );
    expect(hour.top_users.map((row) => row.user_id)).toEqual(
      day.top_users.map((row) => row.user_id),
    );
    await expectProblem(await admin(stack, '/spend?window=2d'), 400, 'validation_failed', {
      field: 'query.window',
    });
  });
});
