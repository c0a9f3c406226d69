import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliAgainst } from '../helpers/cli.ts';
import { describeEachDriver } from '../helpers/db.ts';

describeEachDriver('genloop budget (CLI)', (use, driver) => {
  let dataDir = '';
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'genloop-budget-cli-'));
    if (driver === 'pglite') expect((await run(['db', 'migrate'])).code).toBe(0);
  }, 120_000);
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const { run, withDb } = cliAgainst({
    driver,
    database: use,
    dataDir: () => dataDir,
  });

  it('sets plans and users, and prints the status', async () => {
    const user = randomUUID();
    expect(
      (await run(['budget', 'set', '--plan', 'free', '--usd', '1', '--period', 'month'])).code,
    ).toBe(0);
    expect((await run(['budget', 'assign', '--user', user, '--plan', 'free'])).code).toBe(0);
    let status = await run(['budget', 'status', '--user', user, '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      limit_usd: 1,
      period: 'month',
      spent_usd: 0,
      source: 'plan',
    });
    expect(
      (await run(['budget', 'set', '--user', user, '--usd', '0.002', '--period', 'day'])).code,
    ).toBe(0);
    status = await run(['budget', 'status', '--user', user, '--json']);
    const parsed = JSON.parse(status.stdout);
    expect(parsed).toMatchObject({ limit_usd: 0.002, period: 'day', source: 'user' });
    expect(new Date(parsed.resets_at).getUTCHours()).toBe(0);
    const text = await run(['budget', 'status', '--user', user]);
    expect(text.stdout).toMatch(/spent_usd\s+0/);
    expect(text.stdout).toMatch(/resets_at\s+\d{4}-/);
  });

  it('bad input exits 1 with one line and writes nothing', async () => {
    const user = randomUUID();
    const cases = [
      [['budget', 'set', '--user', user, '--usd', '-1', '--period', 'day'], '--usd'],
      [['budget', 'set', '--user', user, '--usd', '99999999999', '--period', 'day'], '--usd'],
      [['budget', 'set', '--user', user, '--usd', '1', '--period', 'week'], '--period'],
      [['budget', 'set', '--user', 'nobody', '--usd', '1', '--period', 'day'], '--user'],
      [['budget', 'set', '--plan', 'Bad Plan', '--usd', '1', '--period', 'day'], '--plan'],
      [['budget', 'set', '--usd', '1', '--period', 'day'], '--user'],
      [['budget', 'assign', '--user', user, '--plan', 'missing'], 'no plan'],
      [['budget', 'status', '--user', '42'], '--user'],
    ] as const;
    for (const [argv, mention] of cases) {
      const result = await run([...argv]);
      expect(result.code, argv.join(' ')).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(mention);
    }
    const rows = await withDb(
      async (db) =>
        (
          await db.query(
            `select 1 from public.budget_users where user_id = $1
           union all select 1 from public.budget_plans where name in ('bad plan', 'missing')`,
            [user],
          )
        ).rows,
    );
    expect(rows).toEqual([]);
  });
});
