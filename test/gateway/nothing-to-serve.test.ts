import OpenAI from 'openai';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { expectProblem } from '../helpers/errors.ts';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { describeEachStack, type Stack } from '../helpers/stack.ts';

/**
 * When configuration leaves nothing to serve a request, callers get a clear answer (503 with a
 * reason, or 422 naming the provider they asked for) from both entry points, never a 500, and
 * no telemetry row: no generation was attempted.
 */

interface ConfigState {
  provider: string;
  enabled: boolean;
  is_default: boolean;
}

async function configState(stack: Stack): Promise<ConfigState[]> {
  const { rows } = await stack.database.db.query<ConfigState>(
    'select provider, enabled, is_default from ai_provider_configs where environment = $1',
    [stack.config.environment],
  );
  return rows;
}

/** Sets `enabled` (and `is_default`, which only an enabled row may hold) per provider. */
async function setConfigs(stack: Stack, state: readonly ConfigState[]) {
  await stack.database.db.transaction(async (tx) => {
    // Defaults first off, so that no row is ever a disabled default in between.
    await tx.query('update ai_provider_configs set is_default = false where environment = $1', [
      stack.config.environment,
    ]);
    for (const row of state) {
      await tx.query(
        `update ai_provider_configs set enabled = $3, is_default = $4
          where environment = $1 and provider = $2`,
        [stack.config.environment, row.provider, row.enabled, row.is_default],
      );
    }
  });
  stack.services.configs.invalidate();
}

async function generateSite(stack: Stack, body: Record<string, unknown>) {
  const token = await stack.token();
  return stack.app.request('/functions/v1/generate-site', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function telemetryCount(stack: Stack): Promise<{ examples: number; attempts: number }> {
  await stack.services.telemetry.flush();
  const { rows } = await stack.database.db.query<{ examples: number; attempts: number }>(
    `select (select count(*)::int from ai_training_examples) as examples,
            (select count(*)::int from ai_provider_attempts) as attempts`,
  );
  return rows[0]!;
}

describeEachStack('nothing can serve the request', (use) => {
  let original: ConfigState[] = [];
  beforeEach(async () => {
    original = await configState(use());
  });
  afterEach(async () => {
    await setConfigs(use(), original);
  });

  it('no enabled provider: generate-site and the gateway answer 503 with a reason and Retry-After', async () => {
    const stack = use();
    await setConfigs(
      stack,
      original.map((row) => ({ ...row, enabled: false, is_default: false })),
    );
    const before = await telemetryCount(stack);

    const site = await generateSite(stack, { prompt: 'A bakery in Lyon' });
    expect(site.headers.get('retry-after')).toBe('30');
    const problem = await expectProblem(site, 503, 'no_provider_available');
    expect(problem.detail).toContain('ai_provider_configs');
    // OpenAI's error object is added on the /v1 routes only.
    expect(problem).not.toHaveProperty('error');

    const openai = await gatewayClient(stack);
    const gateway = await openai.chat.completions
      .create({ model: 'default', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    expect(gateway).toBeInstanceOf(OpenAI.APIError);
    expect(gateway).toMatchObject({
      status: 503,
      code: 'no_provider_available',
      type: 'server_error',
    });
    expect((gateway as Error).message).toContain('ai_provider_configs');
    expect((gateway as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe(
      '30',
    );

    const streamed = await openai.chat.completions
      .create({ model: 'default', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((error: unknown) => error);
    expect((streamed as InstanceType<typeof OpenAI.APIError>).status).toBe(503);

    expect(await telemetryCount(stack)).toEqual(before);
  });

  it('a requested or pinned provider that is disabled is 422 naming the field, while the others still serve', async () => {
    const stack = use();
    await setConfigs(
      stack,
      original.map((row) => (row.provider === 'custom' ? { ...row, enabled: false } : row)),
    );
    const before = await telemetryCount(stack);

    const site = await generateSite(stack, { prompt: 'A bakery in Lyon', provider: 'custom' });
    await expectProblem(site, 422, 'provider_not_enabled', {
      field: 'body.provider',
      code: 'provider_not_enabled',
    });
    expect(await telemetryCount(stack)).toEqual(before);

    const server = await stack.listen();
    const pinned = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await stack.token()}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'custom/llama-3',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    await expectProblem(pinned, 422, 'provider_not_enabled', {
      field: 'body.model',
      code: 'provider_not_enabled',
    });
    expect(await telemetryCount(stack)).toEqual(before);

    const served = await generateSite(stack, { prompt: 'A bakery in Lyon' });
    expect(served.status).toBe(200);
    expect(((await served.json()) as { selectedProvider: string }).selectedProvider).toBe('openai');
    const after = await telemetryCount(stack);
    expect(after.examples).toBe(before.examples + 1);
    expect(after.attempts).toBeGreaterThan(before.attempts);
  });
});
