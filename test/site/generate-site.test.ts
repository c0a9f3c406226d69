import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createGenloopClient, GenloopError } from '../../src/client/index.ts';
import { siteSchema } from '../../src/recipes/site/schema.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

async function post(stack: Stack, body: unknown, headers: Record<string, string> = {}) {
  const token = await stack.token();
  return stack.app.request('/functions/v1/generate-site', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function telemetryFor(stack: Stack, requestId: string) {
  return eventually(async () => {
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query<Record<string, unknown>>(
      'select * from ai_training_examples where request_id = $1',
      [requestId],
    );
    return rows[0];
  });
}

describeEachStack('POST /functions/v1/generate-site', (use) => {
  it('returns a valid site with its generation metadata, and records the same in telemetry', async () => {
    const stack = use();
    const response = await post(stack, {
      prompt: 'A sourdough bakery in Hobart',
      business_name: 'Crumb & Co',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(siteSchema.safeParse(body.site).success).toBe(true);
    expect(body).toMatchObject({
      routeStrategy: 'fallback',
      promptTemplateVersion: 'site-v1',
      selectedProvider: 'openai',
      fallbackUsed: false,
    });
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
    expect(body.latencyMs).toBeGreaterThanOrEqual(0);

    const row = await telemetryFor(stack, body.requestId as string);
    expect(row).toMatchObject({
      source: 'generation',
      recipe: 'site',
      status: 'succeeded',
      selected_provider: 'openai',
      route_strategy: 'fallback',
      fallback_used: false,
      prompt_template_version: 'site-v1',
      latency_ms: body.latencyMs,
      schema_valid: true,
    });
    const attempts = await stack.database.db.query(
      'select * from ai_provider_attempts where request_id = $1',
      [body.requestId],
    );
    expect(attempts.rowCount).toBe(1);
  });

  it('falls back when the default returns invalid JSON, and says so', async () => {
    const stack = use();
    const response = await post(
      stack,
      { prompt: 'A surf school' },
      { 'x-genloop-simulate': 'openai=invalid-json' },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ selectedProvider: 'custom', fallbackUsed: true });
    const row = await telemetryFor(stack, body.requestId as string);
    expect(row).toMatchObject({
      fallback_used: true,
      fallback_provider: 'custom',
      selected_provider: 'custom',
    });
  });

  it('total failure: 502 problem, and a failed telemetry row that still obeys the contract', async () => {
    const stack = use();
    const response = await post(
      stack,
      { prompt: 'A florist' },
      { 'x-genloop-simulate': 'openai=error:500;custom=error:500;openrouter=error:500' },
    );
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem.code).toBe('all_providers_failed');
    const row = await telemetryFor(stack, response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 'failed', fallback_used: true });
    expect(row.fallback_provider).not.toBeNull();
    expect(row.prompt_template_version).toBe('site-v1');
  });

  it('requested provider: honoured when enabled, 422 when disabled, 400 when unknown', async () => {
    const stack = use();
    const chosen = (await (
      await post(stack, { prompt: 'A gym', provider: 'custom' })
    ).json()) as Record<string, unknown>;
    expect(chosen).toMatchObject({ selectedProvider: 'custom', requestedProvider: 'custom' });

    await stack.database.db.query(
      `update ai_provider_configs set enabled = false where provider = 'custom'`,
    );
    stack.services.configs.invalidate();
    const disabled = await post(stack, { prompt: 'A gym', provider: 'custom' });
    expect(disabled.status).toBe(422);
    expect(((await disabled.json()) as { code: string }).code).toBe('provider_not_enabled');
    await stack.database.db.query(
      `update ai_provider_configs set enabled = true where provider = 'custom'`,
    );
    stack.services.configs.invalidate();

    const unknown = await post(stack, { prompt: 'A gym', provider: 'anthropic' });
    expect(unknown.status).toBe(400);
    const problem = (await unknown.json()) as { errors: Array<{ field: string }> };
    expect(problem.errors.map((error) => error.field)).toContain('body.provider');
  });

  it('bad input is a 400 naming the field, never a 500', async () => {
    const stack = use();
    for (const [body, field] of [
      [{}, 'body.prompt'],
      [{ prompt: '' }, 'body.prompt'],
      [{ prompt: 'x', mode: 'patch' }, 'body.site'],
      [{ prompt: 'x', extra: 1 }, 'body'],
    ] as const) {
      const response = await post(stack, body);
      expect(response.status).toBe(400);
      const problem = (await response.json()) as { errors: Array<{ field: string }> };
      expect(problem.errors.some((error) => error.field.startsWith(field))).toBe(true);
    }
    const malformed = await post(stack, '{"prompt": ');
    expect(malformed.status).toBe(400);
    const noToken = await stack.app.request('/functions/v1/generate-site', {
      method: 'POST',
      body: '{}',
    });
    expect(noToken.status).toBe(401);
  });

  it('patch mode applies an RFC 6902 patch and records patch_apply_success', async () => {
    const stack = use();
    const created = (await (await post(stack, { prompt: 'A café in Perth' })).json()) as {
      site: unknown;
    };
    const response = await post(stack, {
      mode: 'patch',
      prompt: 'Change the title to "Perth Beans"',
      site: created.site,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      site: unknown;
      operations: unknown[];
      requestId: string;
    };
    expect(siteSchema.safeParse(body.site).success).toBe(true);
    expect(body.operations.length).toBeGreaterThan(0);
    const row = await telemetryFor(stack, body.requestId);
    expect(row.patch_apply_success).toBe(true);
  });

  it('the typed client hands back the metadata for UI state', async () => {
    const stack = use();
    const server = await stack.listen();
    const client = createGenloopClient({
      baseUrl: server.url,
      token: () => stack.token(randomUUID()),
    });
    const { site, metadata } = await client.generateSite({ prompt: 'A yoga studio in Byron Bay' });
    expect(site.sections.length).toBeGreaterThan(0);
    expect(Object.keys(metadata).sort()).toEqual(
      [
        'fallbackUsed',
        'latencyMs',
        'promptTemplateVersion',
        'requestId',
        'routeStrategy',
        'selectedProvider',
      ].sort(),
    );
    const failure = await client.generateSite({ prompt: '' }).catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(GenloopError);
    expect((failure as GenloopError).code).toBe('validation_failed');
  });
});
