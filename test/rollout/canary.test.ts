import { beforeEach, expect, it } from 'vitest';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { abortCanary, promoteCanary } from '../../src/rollout/canary/finish.ts';
import { startCanary } from '../../src/rollout/canary/start.ts';
import { readCanaryStatus } from '../../src/rollout/canary/status.ts';
import { ProviderConfigCache } from '../../src/routing/config-cache.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';
import {
  canaryLog,
  driveCanary,
  forgetHealth,
  SiteTraffic,
  testSettings,
} from './canary-fixtures.ts';
import { type ProviderRow, providerRows } from './provider-rows.ts';

/** The prod rows as a canary's baseline in these tests: the seed, with quick timeouts. */
async function resetProd(stack: Stack): Promise<void> {
  const { db } = stack.database;
  await db.query(
    `update ai_provider_configs
        set enabled = true, is_default = (provider = 'openai'),
            weight = case provider when 'openai' then 100 else 0 end,
            timeout_ms = 2000, max_retries = 0, metadata = '{}'
      where environment = 'prod'`,
  );
  // The previous test's canary, whatever it ended as, is history.
  await db.query(
    `update ai_canary_runs set status = 'aborted', finished_at = now()
      where status in ('progressing', 'halted')`,
  );
  stack.services.configs.invalidate();
  await forgetHealth(stack);
}

/** The first tries of the last `count` generate-site requests, and who answered them. */
async function recentRoutes(stack: Stack, count: number) {
  await stack.services.telemetry.flush();
  const { rows } = await stack.database.db.query<{
    planned_provider: string;
    selected_provider: string;
  }>(
    `select planned_provider, selected_provider from ai_training_examples
      where recipe = 'site' order by created_at desc limit $1`,
    [count],
  );
  return rows;
}

/** Sends `count` requests now, one after the other, and returns how they were routed. */
async function routeSome(stack: Stack, count: number) {
  const traffic = new SiteTraffic(stack, { concurrency: 1 });
  const token = await stack.token();
  for (let n = 0; n < count; n++) {
    const response = await stack.app.request('/functions/v1/generate-site', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `After the canary, request ${n}` }),
    });
    expect(response.status).toBe(200);
  }
  traffic.sent = count;
  return recentRoutes(stack, count);
}

/** The prod rows by provider. */
const byProvider = (rows: ProviderRow[]) =>
  new Map(rows.filter((row) => row.environment === 'prod').map((row) => [row.provider, row]));

describeEachStack('canary controller on live routing', (use, driver) => {
  beforeEach(async () => {
    await resetProd(use());
  });

  it('promotes a healthy candidate step by step; the configs then say so plainly', async () => {
    const stack = use();
    const { db } = stack.database;
    const before = await providerRows(db);
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [30, 60, 100], intervalMs: 2_000 }),
      operator: 'alice',
    });
    const traffic = new SiteTraffic(stack);
    await traffic.start();
    const { state, events } = await driveCanary(db, run.id);
    await traffic.stop();

    expect(state).toBe('promoted');
    // A slow machine may leave a window short of samples: such a check only holds the step.
    const held = (check: { verdict: string; decision: string }) =>
      check.verdict === 'inconclusive' && check.decision === 'hold';
    expect(
      events.filter((event) => !event.check || !held(event.check)).map((e) => [e.event, e.weight]),
    ).toEqual([
      ['canary_step', 60],
      ['canary_step', 100],
      ['canary_complete', 100],
    ]);
    const status = (await readCanaryStatus(db, 'prod'))!;
    expect(status).toMatchObject({ state: 'promoted', provider: 'custom', weight: 100, step: 3 });
    const decided = status.checks.filter((check) => !held(check));
    expect(decided.map((check) => [check.weight, check.verdict, check.decision])).toEqual([
      [30, 'passed', 'step'],
      [60, 'passed', 'step'],
      [100, 'passed', 'promote'],
    ]);
    expect(status.checks.every((check) => check.verdict !== 'failed')).toBe(true);
    for (const check of decided) {
      expect(check.candidate.samples).toBeGreaterThanOrEqual(5);
      expect(check.candidate.fallbackRate).toBe(0);
      expect(check.candidate.schemaValidRate).toBe(1);
    }
    // Both sides had first tries while the candidate had 30% and 60% of them.
    expect(decided[0]!.baseline.samples).toBeGreaterThan(0);
    expect(decided[1]!.baseline.samples).toBeGreaterThan(0);

    const expected = before.map((row) => {
      if (row.environment !== 'prod' || row.provider === 'replicate') return row;
      if (row.provider === 'custom') {
        return {
          ...row,
          is_default: true,
          weight: 100,
          metadata: { route_strategy: 'fallback' },
        };
      }
      return { ...row, is_default: false, weight: 0, metadata: {} };
    });
    expect(await providerRows(db)).toEqual(expected);

    const log = await canaryLog(db, [run.id]);
    const holds = log.filter((entry) => entry.action === 'canary_check');
    expect(holds.every((entry) => entry.status === 'info')).toBe(true);
    const moves = log.filter((entry) => entry.action !== 'canary_check');
    expect(moves.map((entry) => [entry.action, entry.status, entry.operator])).toEqual([
      ['canary_start', 'ok', 'alice'],
      ['canary_step', 'ok', 'canary'],
      ['canary_step', 'ok', 'canary'],
      ['canary_complete', 'ok', 'canary'],
    ]);
    expect(moves[1]!.verification!.canary!.check).toMatchObject({
      verdict: 'passed',
      decision: 'step',
      candidate: { samples: decided[0]!.candidate.samples },
    });

    // Every first try now goes to the candidate.
    const after = await routeSome(stack, 8);
    expect(after.every((route) => route.planned_provider === 'custom')).toBe(true);
    expect(after.every((route) => route.selected_provider === 'custom')).toBe(true);
  });

  it('rolls a failing candidate back after the allowed failed checks, configs exactly as before', async () => {
    const stack = use();
    const { db } = stack.database;
    const before = await providerRows(db);
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [50, 100], maxFailedChecks: 2, intervalMs: 2_000 }),
      operator: 'alice',
    });
    const traffic = new SiteTraffic(stack, {
      headers: () => ({ 'x-genloop-simulate': 'custom=error:503' }),
    });
    await traffic.start();
    const { state } = await driveCanary(db, run.id);
    await traffic.stop();

    expect(state).toBe('rolled_back');
    expect(traffic.statuses.get(200)).toBe(traffic.sent);
    const status = (await readCanaryStatus(db, 'prod'))!;
    // A slow machine may leave a window short of samples: such a check only holds the step.
    const failed = status.checks.filter((check) => check.verdict !== 'inconclusive');
    expect(failed.map((check) => [check.verdict, check.decision])).toEqual([
      ['failed', 'hold'],
      ['failed', 'hold'],
      ['failed', 'rollback'],
    ]);
    expect(failed.every((check) => check.candidate.fallbackRate! > 0.05)).toBe(true);
    expect(failed[0]!.baseline.fallbackRate).toBe(0);
    expect(status).toMatchObject({ weight: 0, failed_checks: 3 });
    expect(status.reason).toMatch(/^rolled back: 3 failed checks, more than the 2 allowed/);

    expect(await providerRows(db)).toEqual(before);
    const log = (await canaryLog(db, [run.id])).filter((entry) => entry.status !== 'info');
    expect(log.map((entry) => [entry.action, entry.status])).toEqual([
      ['canary_start', 'ok'],
      ['canary_check', 'failed'],
      ['canary_check', 'failed'],
      ['canary_rollback', 'ok'],
    ]);
    // The rollback keeps the rows it replaced, as every rollback does.
    const replaced = (log[3]!.saved_state as { rows: ProviderRow[] }).rows;
    expect(byProvider(replaced).get('custom')).toMatchObject({ weight: 50 });

    await forgetHealth(stack);
    const after = await routeSome(stack, 8);
    expect(after.every((route) => route.planned_provider === 'openai')).toBe(true);
    expect(after.every((route) => route.selected_provider === 'openai')).toBe(true);
  });

  it('rolls back at once when the schema-valid rate drops more than a point below the baseline', async () => {
    const stack = use();
    const { db } = stack.database;
    const before = await providerRows(db);
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      // Far more samples than the test sends: the immediate trigger needs none of them.
      settings: testSettings({ steps: [50, 100], minSamples: 10_000 }),
      operator: 'alice',
    });
    // Every other request asks for custom, and custom and both fallbacks answer with a site of
    // the wrong shape: those generations fail and are recorded as not schema-valid, on custom's
    // first tries. The rest are healthy.
    const traffic = new SiteTraffic(stack, {
      headers: (n): Record<string, string> =>
        n % 2 === 0
          ? {
              'x-genloop-simulate':
                'custom=wrong-schema;openai=wrong-schema;openrouter=wrong-schema',
            }
          : {},
      body: (n) =>
        n % 2 === 0
          ? { prompt: `A bakery, ${n}`, provider: 'custom' }
          : { prompt: `A bakery, ${n}` },
    });
    await traffic.start();
    const { state } = await driveCanary(db, run.id);
    await traffic.stop();

    const status = (await readCanaryStatus(db, 'prod'))!;
    expect(state).toBe('rolled_back');
    expect(status.checks).toHaveLength(1);
    const [check] = status.checks;
    expect(check).toMatchObject({ verdict: 'failed', decision: 'rollback' });
    expect(check!.candidate.samples).toBeLessThan(10_000);
    expect(check!.candidate.schemaValidRate!).toBeLessThan(0.98);
    expect(check!.baseline.schemaValidRate).toBe(1);
    expect(check!.reason).toMatch(/^rolled back at once: schema-valid rate /);
    expect(await providerRows(db)).toEqual(before);
    expect((await canaryLog(db, [run.id])).map((entry) => entry.action)).toEqual([
      'canary_start',
      'canary_rollback',
    ]);
  });

  it('holds without traffic, then halts and leaves the weights; abort puts the configs back', async () => {
    const stack = use();
    const { db } = stack.database;
    const before = await providerRows(db);
    const started = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [20, 100], maxFailedChecks: 1 }),
      operator: 'alice',
    });
    const atStep = await providerRows(db);
    const { state } = await driveCanary(db, started.run.id);

    expect(state).toBe('halted');
    const status = (await readCanaryStatus(db, 'prod'))!;
    expect(status.checks.map((check) => [check.verdict, check.decision])).toEqual([
      ['inconclusive', 'hold'],
      ['inconclusive', 'halt'],
    ]);
    expect(status).toMatchObject({
      weight: 20,
      step: 1,
      inconclusive_checks: 2,
      next_check_at: null,
    });
    expect(status.reason).toMatch(/^halted: 2 checks in a row without enough traffic/);
    expect(await providerRows(db)).toEqual(atStep);
    expect(byProvider(atStep).get('custom')).toMatchObject({ weight: 20 });
    expect(byProvider(atStep).get('openai')).toMatchObject({
      weight: 80,
      metadata: { route_strategy: 'weighted' },
    });

    const aborted = await abortCanary(db, { environment: 'prod', operator: 'bob' });
    expect(aborted.run.state).toBe('aborted');
    expect(await providerRows(db)).toEqual(before);
    expect(
      (await canaryLog(db, [started.run.id])).map((entry) => [entry.action, entry.operator]),
    ).toEqual([
      ['canary_start', 'alice'],
      ['canary_check', 'canary'],
      ['canary_halt', 'canary'],
      ['canary_abort', 'bob'],
    ]);
  });

  it('promote skips to the end; abort of the next canary returns to the promoted state', async () => {
    const stack = use();
    const { db } = stack.database;
    const first = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [5, 25, 50, 100] }),
      operator: 'alice',
    });
    const promoted = await promoteCanary(db, { environment: 'prod', operator: 'bob' });
    expect(promoted.run).toMatchObject({ state: 'promoted', stepIndex: 3 });
    expect(promoted.event).toMatchObject({ event: 'canary_complete', weight: 100, step: 4 });
    const rows = byProvider(await providerRows(db));
    expect(rows.get('custom')).toMatchObject({
      enabled: true,
      is_default: true,
      weight: 100,
      metadata: { route_strategy: 'fallback' },
    });
    expect(rows.get('openai')).toMatchObject({
      enabled: true,
      is_default: false,
      weight: 0,
      metadata: {},
    });
    const promotedRows = await providerRows(db);

    const second = await startCanary(db, {
      environment: 'prod',
      provider: 'openai',
      settings: testSettings(),
      operator: 'alice',
    });
    expect(byProvider(await providerRows(db)).get('openai')).toMatchObject({ weight: 50 });
    await abortCanary(db, { environment: 'prod', operator: 'bob' });
    expect(await providerRows(db)).toEqual(promotedRows);
    const log = await canaryLog(db, [first.run.id, second.run.id]);
    expect(log.map((entry) => [entry.action, entry.operator])).toEqual([
      ['canary_start', 'alice'],
      ['canary_complete', 'bob'],
      ['canary_start', 'alice'],
      ['canary_abort', 'bob'],
    ]);
  });

  it('halts, moving nothing, when someone changes the configs behind its back', async () => {
    const stack = use();
    const { db } = stack.database;
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings(),
      operator: 'alice',
    });
    await db.query(
      `update ai_provider_configs set weight = 0 where environment = 'prod' and provider = 'custom'`,
    );
    const edited = await providerRows(db);
    const { state } = await driveCanary(db, run.id);
    expect(state).toBe('halted');
    expect((await readCanaryStatus(db, 'prod'))!.reason).toBe(
      'halted: the configs of prod changed outside the canary (custom is at weight 0, not 50); promote or abort it',
    );
    expect(await providerRows(db)).toEqual(edited);
  });

  it('each change reaches the routing of every replica at once, through NOTIFY', async () => {
    const stack = use();
    const { db } = stack.database;
    // Two more replicas' config caches, each on its own connection, with a TTL far longer than
    // the test: only the change notification can make them reload.
    const replicaDbs: Db[] =
      driver === 'pg'
        ? [
            createPgDb({ connectionString: stack.database.url!, max: 2 }),
            createPgDb({ connectionString: stack.database.url!, max: 2 }),
          ]
        : [db, db];
    const caches = replicaDbs.map(
      (replicaDb) => new ProviderConfigCache(replicaDb, 'prod', { ttlMs: 600_000 }),
    );
    try {
      for (const cache of caches) {
        await cache.start();
        expect((await cache.get()).find((config) => config.isDefault)?.metadata).toEqual({});
      }
      const weights = async () =>
        Promise.all(
          caches.map(
            async (cache) => (await cache.get()).find((c) => c.provider === 'custom')?.weight,
          ),
        );

      await startCanary(db, {
        environment: 'prod',
        provider: 'custom',
        settings: testSettings(),
        operator: 'alice',
      });
      await eventually(
        async () => ((await weights()).every((w) => w === 50) ? true : undefined),
        3_000,
      );
      expect(
        (await caches[0]!.get()).find((config) => config.isDefault)?.metadata.route_strategy,
      ).toBe('weighted');

      await abortCanary(db, { environment: 'prod', operator: 'bob' });
      await eventually(
        async () => ((await weights()).every((w) => w === 0) ? true : undefined),
        3_000,
      );
    } finally {
      for (const cache of caches) await cache.stop();
      if (driver === 'pg') for (const replicaDb of replicaDbs) await replicaDb.close();
    }
  });
});
