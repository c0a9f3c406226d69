import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type {
  Job,
  ProviderUpdated,
  RolloutPage,
  SignInResult,
  Verification,
} from '../../src/console/contract.ts';
import { SIGN_IN_CODE_TTL_MS, SignInCode } from '../../src/console/sign-in-code.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { finalizeGeneration } from '../../src/sql/usage.ts';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachWith, eventually } from '../helpers/stack.ts';
import { API_KEY, admin, insertJob, ledgerOf, ok, startAdminStack } from './admin-fixtures.ts';

describeEachWith('admin API: changes', startAdminStack, (use) => {
  it('retries a failed job: pending again, its unit taken again once, and each run settles once', async () => {
    const stack = use();
    const { db } = stack.database;
    const { id, userId } = await insertJob(db, { status: 'failed' });
    expect(await ledgerOf(db, id)).toEqual({ balance: 0, kinds: ['refund', 'reserve'] });

    const job = await ok<Job>(await admin(stack, `/jobs/${id}/retry`, { method: 'POST' }));
    expect(job).toMatchObject({
      id,
      status: 'pending',
      attempts: 0,
      error: null,
      finished_at: null,
    });
    expect(await ledgerOf(db, id)).toEqual({
      balance: -1,
      kinds: ['refund', 'reserve', 'reserve'],
    });
    await expectProblem(
      await admin(stack, `/jobs/${id}/retry`, { method: 'POST' }),
      409,
      'not_retryable',
    );
    expect((await ledgerOf(db, id)).balance).toBe(-1);

    // The new run fails too: its refund lands once, however often it is attempted.
    await db.query(
      `update ai_generations set status = 'failed', finished_at = now() where id = $1`,
      [id],
    );
    for (let time = 0; time < 2; time++) {
      await finalizeGeneration(db, {
        userId,
        generationId: id,
        outcome: 'refund',
        reason: 'failed',
      });
    }
    expect((await ledgerOf(db, id)).balance).toBe(0);

    // A second retry that succeeds keeps exactly one unit spent.
    await ok(await admin(stack, `/jobs/${id}/retry`, { method: 'POST', as: 'api_key' }));
    expect((await ledgerOf(db, id)).balance).toBe(-1);
    await db.query(
      `update ai_generations set status = 'succeeded', finished_at = now() where id = $1`,
      [id],
    );
    await finalizeGeneration(db, { userId, generationId: id, outcome: 'settle' });
    await finalizeGeneration(db, { userId, generationId: id, outcome: 'refund' });
    expect(await ledgerOf(db, id)).toEqual({
      balance: -1,
      kinds: ['refund', 'refund', 'reserve', 'reserve', 'reserve', 'settle'],
    });
  });

  it('retries timed-out and canceled jobs, and one that never reserved without touching the ledger', async () => {
    const stack = use();
    const { db } = stack.database;
    for (const status of ['timed_out', 'canceled'] as const) {
      const { id } = await insertJob(db, { status, recipe: 'interior' });
      await db.query(
        `update ai_generations set provider = 'replicate', provider_prediction_id = $2 where id = $1`,
        [id, `prediction-${id}`],
      );
      await ok(await admin(stack, `/jobs/${id}/retry`, { method: 'POST' }));
      const { rows } = await db.query<{ status: string; provider_prediction_id: string | null }>(
        'select status, provider_prediction_id from ai_generations where id = $1',
        [id],
      );
      // A new run must not resume the prediction that failed.
      expect(rows[0]).toEqual({ status: 'pending', provider_prediction_id: null });
      expect((await ledgerOf(db, id)).balance).toBe(-1);
    }
    const { id } = await insertJob(db, { status: 'failed', reserved: false });
    await ok(await admin(stack, `/jobs/${id}/retry`, { method: 'POST' }));
    expect(await ledgerOf(db, id)).toEqual({ balance: 0, kinds: [] });
  });

  it('refuses to retry a job that has not ended unsuccessfully, and unknown or malformed ids', async () => {
    const stack = use();
    const { db } = stack.database;
    for (const status of ['pending', 'running', 'succeeded'] as const) {
      const { id } = await insertJob(db, { status });
      const before = await ledgerOf(db, id);
      const problem = await expectProblem(
        await admin(stack, `/jobs/${id}/retry`, { method: 'POST' }),
        409,
        'not_retryable',
      );
      expect(problem.detail).toContain(status);
      expect(await ledgerOf(db, id)).toEqual(before);
      const { rows } = await db.query<{ status: string }>(
        'select status from ai_generations where id = $1',
        [id],
      );
      expect(rows[0]?.status).toBe(status);
    }
    await expectProblem(
      await admin(stack, `/jobs/${randomUUID()}/retry`, { method: 'POST' }),
      404,
      'not_found',
    );
    await expectProblem(
      await admin(stack, '/jobs/42/retry', { method: 'POST' }),
      400,
      'validation_failed',
      {
        field: 'path.id',
      },
    );
  });

  it('cancels pending and running jobs with one refund each, and refuses ended ones', async () => {
    const stack = use();
    const { db } = stack.database;
    for (const status of ['pending', 'running'] as const) {
      const { id } = await insertJob(db, { status });
      const job = await ok<Job>(await admin(stack, `/jobs/${id}/cancel`, { method: 'POST' }));
      expect(job).toMatchObject({ id, status: 'canceled', lease_until: null });
      expect(job.finished_at).not.toBeNull();
      expect(await ledgerOf(db, id)).toEqual({ balance: 0, kinds: ['refund', 'reserve'] });
      const again = await expectProblem(
        await admin(stack, `/jobs/${id}/cancel`, { method: 'POST' }),
        409,
        'not_cancelable',
      );
      expect(again.detail).toContain('canceled');
      expect(await ledgerOf(db, id)).toEqual({ balance: 0, kinds: ['refund', 'reserve'] });
    }
    const { id } = await insertJob(db, { status: 'succeeded' });
    await expectProblem(
      await admin(stack, `/jobs/${id}/cancel`, { method: 'POST' }),
      409,
      'not_cancelable',
    );
    expect(await ledgerOf(db, id)).toEqual({ balance: -1, kinds: ['reserve', 'settle'] });
    await expectProblem(
      await admin(stack, `/jobs/${randomUUID()}/cancel`, { method: 'POST' }),
      404,
      'not_found',
    );
  });

  it('edits a weight in one transaction with its rollout log row, names the operator, and routing sees it', async () => {
    const stack = use();
    const { db } = stack.database;
    const operator = randomUUID();
    const token = await stack.token(operator, 'service_role');
    const response = await stack.app.request('/api/v1/admin/providers/prod/custom', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 37 }),
    });
    const updated = await ok<ProviderUpdated>(response);
    expect(updated.provider).toMatchObject({ provider: 'custom', environment: 'prod', weight: 37 });
    const log = await ok<RolloutPage>(await admin(stack, '/rollouts?environment=prod&limit=1'));
    expect(log.data[0]).toMatchObject({
      id: updated.rollout_log_id,
      action: 'provider_update',
      operator,
      status: 'ok',
      saved_state: {
        provider: 'custom',
        before: { weight: 0, enabled: true, is_default: false },
        after: { weight: 37, enabled: true, is_default: false },
      },
    });
    expect(log.data[0]?.notes).toContain('weight 0 → 37');
    await eventually(async () => {
      const configs = await stack.services.configs.get();
      return configs.find((config) => config.provider === 'custom')?.weight === 37
        ? true
        : undefined;
    });

    const byKey = await ok<ProviderUpdated>(
      await admin(stack, '/providers/prod/custom', {
        method: 'PATCH',
        body: { weight: 0 },
        as: 'api_key',
      }),
    );
    const digest = createHash('sha256').update(API_KEY).digest('hex').slice(0, 12);
    const { rows } = await db.query<{ operator: string }>(
      'select operator from ai_rollout_log where id = $1',
      [byKey.rollout_log_id],
    );
    expect(rows[0]?.operator).toBe(`api-key:${digest}`);
  });

  it('refuses edits that break a provider rule, changing nothing and logging nothing', async () => {
    const stack = use();
    const { db } = stack.database;
    await db.query(
      `insert into ai_provider_configs (provider, environment, enabled, is_default, weight)
       values ('openai', 'solo', true, true, 100), ('custom', 'solo', false, false, 0)`,
    );
    const state = async () =>
      (
        await db.query(
          `select provider, environment, enabled, is_default, weight, updated_at from ai_provider_configs
            order by environment, provider`,
        )
      ).rows;
    const logCount = async () =>
      (await db.query<{ count: number }>('select count(*)::int as count from ai_rollout_log'))
        .rows[0]!.count;
    const before = await state();
    const logged = await logCount();
    const refused = async (path: string, body: unknown, code: string) => {
      const problem = await expectProblem(
        await admin(stack, path, { method: 'PATCH', body }),
        409,
        code,
      );
      expect(problem.detail).toBeTruthy();
    };
    await refused('/providers/prod/custom', { is_default: true }, 'default_already_set');
    await refused('/providers/prod/openai', { enabled: false }, 'default_must_be_enabled');
    await refused('/providers/solo/custom', { is_default: true }, 'default_already_set');
    await refused(
      '/providers/solo/openai',
      { enabled: false, is_default: false },
      'last_enabled_provider',
    );
    expect(await state()).toEqual(before);
    expect(await logCount()).toBe(logged);

    // Moving the default: unset it, then set it elsewhere; both logged.
    await ok(
      await admin(stack, '/providers/solo/custom', { method: 'PATCH', body: { enabled: true } }),
    );
    await ok(
      await admin(stack, '/providers/solo/openai', {
        method: 'PATCH',
        body: { is_default: false },
      }),
    );
    await ok(
      await admin(stack, '/providers/solo/custom', { method: 'PATCH', body: { is_default: true } }),
    );
    const { rows } = await db.query<{ provider: string }>(
      `select provider from ai_provider_configs where environment = 'solo' and is_default`,
    );
    expect(rows).toEqual([{ provider: 'custom' }]);
    expect(await logCount()).toBe(logged + 3);
  });

  it('answers malformed edits with 400 naming the field and unknown configs with 404', async () => {
    const stack = use();
    const patch = (path: string, body: unknown) => admin(stack, path, { method: 'PATCH', body });
    await expectProblem(
      await patch('/providers/prod/custom', { weight: 101 }),
      400,
      'validation_failed',
      {
        field: 'body.weight',
      },
    );
    await expectProblem(
      await patch('/providers/prod/custom', { weight: 1.5 }),
      400,
      'validation_failed',
      {
        field: 'body.weight',
      },
    );
    await expectProblem(
      await patch('/providers/prod/custom', { enabled: 'yes' }),
      400,
      'validation_failed',
      {
        field: 'body.enabled',
      },
    );
    await expectProblem(
      await patch('/providers/prod/custom', { model: 'x' }),
      400,
      'validation_failed',
      {
        field: 'body.model',
      },
    );
    await expectProblem(await patch('/providers/prod/custom', {}), 400, 'validation_failed');
    await expectProblem(
      await patch('/providers/prod/anthropic', { weight: 1 }),
      400,
      'validation_failed',
      {
        field: 'path.provider',
      },
    );
    await expectProblem(
      await patch('/providers/PROD/custom', { weight: 1 }),
      400,
      'validation_failed',
      {
        field: 'path.environment',
      },
    );
    expect((await patch('/providers/prod/custom', '{"weight": ')).status).toBe(400);
    await expectProblem(await patch('/providers/nowhere/custom', { weight: 1 }), 404, 'not_found');
    const notJson = await stack.app.request('/api/v1/admin/providers/prod/custom', {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${await stack.token(randomUUID(), 'service_role')}`,
        'content-type': 'text/plain',
      },
      body: 'weight=1',
    });
    expect(notJson.status).toBe(415);
  });

  it('verifies an environment as the CLI does and logs it with the operator', async () => {
    const stack = use();
    const result = await ok<Verification>(
      await admin(stack, '/rollouts/prod/verify', { method: 'POST', as: 'api_key' }),
    );
    expect(result.target).toBe('prod');
    expect(result.checks.map((check) => check.name)).toContain('default_count');
    expect(result.passed).toBe(result.checks.every((check) => check.passed));
    const { rows } = await stack.database.db.query<{
      action: string;
      status: string;
      operator: string;
    }>('select action, status, operator from ai_rollout_log where id = $1', [
      result.rollout_log_id,
    ]);
    expect(rows[0]).toMatchObject({
      action: 'verify',
      status: result.passed ? 'ok' : 'failed',
      operator: expect.stringMatching(/^api-key:[0-9a-f]{12}$/),
    });
    await expectProblem(
      await admin(stack, '/rollouts/qa/verify', { method: 'POST' }),
      400,
      'validation_failed',
      {
        field: 'path.environment',
      },
    );
  });

  it('exchanges the one-time code once for a service-role token, and only when a code exists', async () => {
    const stack = use();
    const signInCode = new SignInCode();
    const app = createApp({
      config: stack.config,
      db: stack.database.db,
      logger: createLogger(stack.config),
      signInCode,
    });
    const signIn = (code: unknown, target = app) =>
      target.request('/api/v1/admin/sign-in', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
    await expectProblem(await signIn('wrong'), 400, 'sign_in_code_invalid', { field: 'body.code' });
    await expectProblem(await signIn(''), 400, 'validation_failed', { field: 'body.code' });
    const result = await ok<SignInResult>(await signIn(signInCode.code));
    expect(result.token_type).toBe('bearer');
    const lifetime = Date.parse(result.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(11.9 * 3_600_000);
    expect(lifetime).toBeLessThanOrEqual(12 * 3_600_000);
    const overview = await app.request('/api/v1/admin/overview', {
      headers: { authorization: `Bearer ${result.access_token}` },
    });
    expect(overview.status).toBe(200);
    await expectProblem(await signIn(signInCode.code), 400, 'sign_in_code_invalid');
    // The stack, like any server outside embedded mode, has no code to exchange.
    await expectProblem(await signIn(signInCode.code, stack.app), 404, 'sign_in_unavailable');
  });
});

describe('SignInCode', () => {
  it('works once, only before it expires, and only for the exact code', () => {
    let now = 1_000_000;
    const code = new SignInCode(() => now);
    expect(code.code).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(code.consume(`${code.code}x`)).toBe(false);
    expect(
      code.consume(
        code.code.toUpperCase() === code.code ? `${code.code}a` : code.code.toUpperCase(),
      ),
    ).toBe(false);
    now += SIGN_IN_CODE_TTL_MS;
    expect(code.consume(code.code)).toBe(false);
    const fresh = new SignInCode(() => now);
    expect(fresh.consume(fresh.code)).toBe(true);
    expect(fresh.consume(fresh.code)).toBe(false);
    expect(new SignInCode().code).not.toBe(fresh.code);
  });
});
