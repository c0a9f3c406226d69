import { expect, it } from 'vitest';
import type { CanaryAnswer } from '../../src/console/contract.ts';
import { CanaryController } from '../../src/rollout/canary/controller.ts';
import { abortCanary } from '../../src/rollout/canary/finish.ts';
import { selectDueRuns } from '../../src/rollout/canary/sql.ts';
import { startCanary } from '../../src/rollout/canary/start.ts';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachWith } from '../helpers/stack.ts';
import { makeDue, recordFirstTries, testSettings } from '../rollout/canary-fixtures.ts';
import { admin, ok, startAdminStack } from './admin-fixtures.ts';

describeEachWith('admin API: canary', startAdminStack, (use) => {
  it('answers null for an environment that never had a canary, and 400 for a malformed one', async () => {
    const stack = use();
    expect(await ok<CanaryAnswer>(await admin(stack, '/canary?environment=staging'))).toEqual({
      environment: 'staging',
      canary: null,
    });
    await expectProblem(
      await admin(stack, '/canary?environment=Not%20An%20Env'),
      400,
      'validation_failed',
      { field: 'query.environment' },
    );
  });

  it("shows a canary's steps and each check's values against its thresholds, then why it ended", async () => {
    const stack = use();
    const { db } = stack.database;
    await db.query(
      `update ai_provider_configs
          set enabled = true, is_default = (provider = 'openai'),
              weight = case provider when 'openai' then 100 else 0 end, metadata = '{}'
        where environment = 'prod'`,
    );
    const { run } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [20, 50, 100], intervalMs: 60_000, maxP95Ms: 5_000 }),
      operator: 'alice',
      notifyUrl: 'https://hooks.example/canary?token=secret',
    });

    const started = (await ok<CanaryAnswer>(await admin(stack, '/canary?environment=prod')))
      .canary!;
    expect(started).toMatchObject({
      id: run.id,
      environment: 'prod',
      state: 'progressing',
      provider: 'custom',
      weight: 20,
      step: 1,
      steps: [20, 50, 100],
      interval: '1m',
      thresholds: {
        min_samples: 5,
        max_failed_checks: 2,
        max_fallback_rate: 0.05,
        max_p95_ms: 5_000,
        min_schema_valid: 0.99,
      },
      reason: null,
      operator: 'alice',
      checks: [],
    });
    expect(started.next_check_at).not.toBeNull();
    expect(JSON.stringify(started)).not.toContain('secret');

    // One first try in eight fell back: 12.5 % against a 5 % limit, a failed check that holds.
    await recordFirstTries(db, 'custom', 7);
    await recordFirstTries(db, 'custom', 1, { fallbackUsed: true });
    await recordFirstTries(db, 'openai', 20);
    await makeDue(db, run.id);
    const [due] = await selectDueRuns(db);
    await new CanaryController({ db }).check(due!);

    const checked = (await ok<CanaryAnswer>(await admin(stack, '/canary?environment=prod')))
      .canary!;
    expect(checked).toMatchObject({ state: 'progressing', step: 1, failed_checks: 1 });
    expect(checked.checks).toHaveLength(1);
    const [check] = checked.checks;
    expect(check).toMatchObject({
      n: 1,
      step: 1,
      weight: 20,
      verdict: 'failed',
      decision: 'hold',
      candidate: { samples: 8, fallback_rate: 0.125, schema_valid_rate: 1 },
      baseline: { samples: 20, fallback_rate: 0 },
    });
    expect(check!.candidate.p95_latency_ms).toBe(120);
    expect(check!.rollout_log_id).toEqual(expect.any(Number));
    expect(check!.guardrails).toEqual(
      expect.arrayContaining([
        {
          name: 'fallback_rate',
          value: 0.125,
          kind: 'max',
          limit: 0.05,
          ok: false,
          immediate: false,
        },
        {
          name: 'p95_latency_ms',
          value: 120,
          kind: 'max',
          limit: 5_000,
          ok: true,
          immediate: false,
        },
        {
          name: 'schema_valid_rate',
          value: 1,
          kind: 'min',
          limit: 0.99,
          ok: true,
          immediate: false,
        },
      ]),
    );

    await abortCanary(db, { environment: 'prod', operator: 'bob' });
    const ended = (await ok<CanaryAnswer>(await admin(stack, '/canary?environment=prod'))).canary!;
    expect(ended.state).toBe('aborted');
    expect(ended.reason).toMatch(/^aborted by bob at 20%/);
    expect(ended.next_check_at).toBeNull();
    expect(ended.finished_at).not.toBeNull();
    expect(ended.checks).toHaveLength(1);
  });
});
