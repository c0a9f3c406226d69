import { randomUUID } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.ts';
import type { ChatResult, TextProvider } from '../../src/providers/types.ts';
import { RouteError, Router } from '../../src/routing/router.ts';
import type { AttemptRecord, RouteMetadata } from '../../src/routing/types.ts';
import {
  describeEachStack,
  eventually,
  FAST_SERVICE_OPTIONS,
  type Stack,
} from '../helpers/stack.ts';

const ask = (
  stack: Stack,
  simulate?: string,
  requestedProvider?: 'openai' | 'custom' | 'openrouter',
) =>
  stack.services.router.route<ChatResult>({
    requestId: randomUUID(),
    requestedProvider,
    simulate,
    build: (config) => ({
      model: config.model ?? 'm',
      messages: [{ role: 'user', content: 'say hello' }],
    }),
  });

const streamOf = (router: Router, simulate?: string) =>
  router.routeStream({
    requestId: randomUUID(),
    simulate,
    build: (config) => ({
      model: config.model ?? 'm',
      messages: [{ role: 'user', content: 'tell me a story' }],
    }),
  });

const invalidOutput = (provider: TextProvider) =>
  new ProviderError({
    provider: provider.name,
    message: 'the answer failed the check',
    errorClass: 'invalid_output',
    retryable: false,
  });

/**
 * The simulator's provider, answering as usual, with every answer refused as invalid output:
 * the whole answer of a JSON call, the first chunk of a stream (before the client sees a byte).
 */
function answeringInvalidOutput(provider: TextProvider): TextProvider {
  return {
    name: provider.name,
    servedBy: provider.servedBy,
    embed: (request, options) => provider.embed(request, options),
    async generate(request, options) {
      await provider.generate(request, options);
      throw invalidOutput(provider);
    },
    async stream(request, options) {
      const stream = await provider.stream(request, options);
      return {
        providerRequestId: stream.providerRequestId,
        usage: () => stream.usage(),
        [Symbol.asyncIterator]: () => ({
          async next() {
            // The first chunk arrives and is refused; the provider's stream is closed.
            const chunks = stream[Symbol.asyncIterator]();
            await chunks.next();
            await chunks.return?.();
            throw invalidOutput(provider);
          },
        }),
      };
    },
  };
}

/** A router over the stack's configs and cooldown, with openai's answers always invalid. */
function routerWithInvalidOpenAI(stack: Stack): Router {
  const { providers, configs, cooldown, config } = stack.services;
  const text = new Map(providers.text);
  text.set('openai', answeringInvalidOutput(providers.text.get('openai')!));
  return new Router({
    environment: config.environment,
    providers: { ...providers, text },
    configs,
    cooldown,
    ...FAST_SERVICE_OPTIONS.router,
  });
}

/** Invalid output from openai: no retry, a fallback to custom, one failure toward cooldown. */
async function expectInvalidOutputCounted(
  stack: Stack,
  routed: { attempts: AttemptRecord[]; metadata: RouteMetadata },
): Promise<void> {
  expect(routed.attempts.map((attempt) => [attempt.provider, attempt.errorClass])).toEqual([
    ['openai', 'invalid_output'],
    ['custom', null],
  ]);
  expect(routed.metadata).toMatchObject({ selectedProvider: 'custom', fallbackUsed: true });
  const health = await eventually(async () => {
    const { rows } = await stack.database.db.query<{
      consecutive_failures: number;
      last_error_class: string;
    }>(
      `select consecutive_failures, last_error_class from ai_provider_health where provider = 'openai'`,
    );
    return rows[0];
  });
  expect(health).toEqual({ consecutive_failures: 1, last_error_class: 'invalid_output' });
}

/** Clears every provider's failure streak and cooldown, here and in the shared table. */
async function forgetHealth(stack: Stack): Promise<void> {
  // Failures are recorded off the request path: let the last ones land before clearing.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await stack.database.db.query('delete from ai_provider_health');
  await stack.services.cooldown.refresh();
}

async function setConfigs(stack: Stack, sql: string, params: unknown[] = []): Promise<void> {
  await stack.database.db.query(sql, params);
  stack.services.configs.invalidate();
}

describeEachStack('router through the SDKs and the simulator', (use) => {
  beforeEach(async () => {
    const stack = use();
    // prod: openai default (2 retries), custom and openrouter enabled as fallbacks; fast timeouts.
    await setConfigs(
      stack,
      `update ai_provider_configs set enabled = true, timeout_ms = 400, max_retries = 1, metadata = '{}'
        where environment = 'prod'`,
    );
    await forgetHealth(stack);
  });

  it('fallback: the default answers when healthy', async () => {
    const result = await ask(use());
    expect(result.metadata).toMatchObject({
      selectedProvider: 'openai',
      fallbackUsed: false,
      routeStrategy: 'fallback',
    });
    expect(result.attempts).toHaveLength(1);
    expect(result.value.content.length).toBeGreaterThan(0);
  });

  it('a hanging provider is aborted by its timeout and the route falls back', async () => {
    const result = await ask(use(), 'openai=hang');
    expect(result.metadata).toMatchObject({
      selectedProvider: 'custom',
      fallbackUsed: true,
      fallbackProvider: 'custom',
    });
    const openaiAttempts = result.attempts.filter((attempt) => attempt.provider === 'openai');
    expect(openaiAttempts.map((attempt) => attempt.status)).toEqual(['timeout', 'timeout']);
  });

  it('429 with Retry-After: the retry waits at least that long', async () => {
    const stack = use();
    await setConfigs(
      stack,
      `update ai_provider_configs set max_retries = 1 where provider = 'openai' and environment = 'prod'`,
    );
    const result = await ask(stack, 'openai=error:429');
    const [first, second] = result.attempts;
    expect(first).toMatchObject({
      provider: 'openai',
      errorClass: 'rate_limited',
      httpStatus: 429,
    });
    expect(first!.retryAfterMs).toBeGreaterThan(0);
    expect(second!.provider).toBe('openai');
    const gap = second!.createdAt.getTime() - (first!.createdAt.getTime() + first!.latencyMs);
    expect(gap).toBeGreaterThanOrEqual(first!.retryAfterMs! - 5);
    expect(result.metadata.selectedProvider).toBe('custom');
  });

  it('5xx and connection resets are retried, then fall back', async () => {
    for (const fault of ['error:503', 'reset']) {
      const result = await ask(use(), `openai=${fault}`);
      expect(result.attempts.map((attempt) => attempt.provider)).toEqual([
        'openai',
        'openai',
        'custom',
      ]);
      expect(result.metadata.fallbackUsed).toBe(true);
    }
  });

  it('a 400 is not retried and ends the route', async () => {
    const error = await ask(use(), 'openai=error:400').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RouteError);
    expect((error as RouteError).code).toBe('request_rejected');
    expect((error as RouteError).attempts).toHaveLength(1);
  });

  it('every provider failing gives all_providers_failed with each attempt recorded', async () => {
    const error = await ask(use(), 'openai=error:500;openrouter=error:502;custom=error:503').catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RouteError);
    expect((error as RouteError).code).toBe('all_providers_failed');
    expect((error as RouteError).attempts.map((attempt) => attempt.provider)).toEqual([
      'openai',
      'openai',
      'custom',
      'custom',
      'openrouter',
      'openrouter',
    ]);
  });

  it('cooldown: three failed requests move the provider to the back; a success restores it', async () => {
    const stack = use();
    for (let index = 0; index < 3; index++) await ask(stack, 'openai=error:500');
    // The router records failures off the request path: wait for the third to be written.
    await eventually(async () => {
      const { rows } = await stack.database.db.query<{ consecutive_failures: number }>(
        `select consecutive_failures from ai_provider_health where provider = 'openai'`,
      );
      return (rows[0]?.consecutive_failures ?? 0) >= 3 ? true : undefined;
    });
    await stack.services.cooldown.refresh();
    const cooled = await ask(stack);
    expect(cooled.attempts[0]!.provider).toBe('custom');
    // Recovery: once the cooldown has passed and openai answers, its streak is cleared.
    await stack.database.db.query(
      `update ai_provider_health set cooldown_until = now() - interval '1 second'`,
    );
    await stack.services.cooldown.refresh();
    const recovered = await ask(stack);
    expect(recovered.attempts[0]!.provider).toBe('openai');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await stack.database.db.query<{ consecutive_failures: number }>(
      `select consecutive_failures from ai_provider_health where provider = 'openai'`,
    );
    expect(after.rows[0]!.consecutive_failures).toBe(0);
  });

  it('single_provider: no fallback', async () => {
    const stack = use();
    await setConfigs(
      stack,
      `update ai_provider_configs set metadata = '{"route_strategy":"single_provider"}' where is_default and environment = 'prod'`,
    );
    const error = await ask(stack, 'openai=error:500').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RouteError);
    expect((error as RouteError).attempts.every((attempt) => attempt.provider === 'openai')).toBe(
      true,
    );
    expect((error as RouteError).metadata.routeStrategy).toBe('single_provider');
  });

  it('weighted: traffic follows the weights', async () => {
    const stack = use();
    await setConfigs(
      stack,
      `update ai_provider_configs
          set weight = case provider when 'openai' then 50 when 'custom' then 50 else 0 end,
              metadata = case when is_default then '{"route_strategy":"weighted"}'::jsonb else '{}'::jsonb end
        where environment = 'prod'`,
    );
    const picks = new Set<string>();
    for (let index = 0; index < 30; index++)
      picks.add((await ask(stack)).metadata.selectedProvider!);
    expect(picks).toEqual(new Set(['openai', 'custom']));
  });

  it('a requested provider goes first; a disabled one is refused', async () => {
    const stack = use();
    expect((await ask(stack, undefined, 'custom')).metadata).toMatchObject({
      selectedProvider: 'custom',
      requestedProvider: 'custom',
    });
    await setConfigs(
      stack,
      `update ai_provider_configs set enabled = false where provider = 'custom'`,
    );
    const error = await ask(stack, undefined, 'custom').catch((caught: unknown) => caught);
    expect((error as RouteError).code).toBe('provider_not_enabled');
  });

  it('a config change reaches the router without a restart (NOTIFY)', async () => {
    const stack = use();
    expect((await ask(stack)).metadata.selectedProvider).toBe('openai');
    await stack.database.db.query(
      `update ai_provider_configs set is_default = false where environment = 'prod'`,
    );
    await stack.database.db.query(
      `update ai_provider_configs set is_default = true where provider = 'custom' and environment = 'prod'`,
    );
    let selected: string | null = null;
    for (let index = 0; index < 100 && selected !== 'custom'; index++) {
      selected = (await ask(stack)).metadata.selectedProvider;
      if (selected !== 'custom') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(selected).toBe('custom');
    await stack.database.db.query(
      `update ai_provider_configs set is_default = (provider = 'openai') where environment = 'prod'`,
    );
  });

  it('no enabled provider: no_provider_available', async () => {
    const stack = use();
    await setConfigs(
      stack,
      `update ai_provider_configs set is_default = false, enabled = false where environment = 'prod'`,
    );
    const error = await ask(stack).catch((caught: unknown) => caught);
    expect((error as RouteError).code).toBe('no_provider_available');
    await setConfigs(
      stack,
      `update ai_provider_configs set enabled = true, is_default = (provider = 'openai') where environment = 'prod'`,
    );
  });

  it('streaming: a failure before the first chunk falls back; a cut after it surfaces as an error', async () => {
    const stack = use();
    const request = (simulate: string) => streamOf(stack.services.router, simulate);
    const fallback = await request('openai=error:503');
    expect(fallback.metadata.selectedProvider).toBe('custom');
    let text = '';
    for await (const chunk of fallback.chunks) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.length).toBeGreaterThan(0);

    const cut = await request('openai=stream-cut:2');
    expect(cut.metadata.selectedProvider).toBe('openai');
    const received: unknown[] = [];
    const failure = await (async () => {
      for await (const chunk of cut.chunks) received.push(chunk);
    })().catch((caught: unknown) => caught);
    expect(received.length).toBeGreaterThanOrEqual(1);
    expect(failure).toMatchObject({ errorClass: 'stream_cut' });
  });

  it('streaming: before the first chunk, the same retries, fallbacks and rejections as JSON', async () => {
    const stack = use();
    for (const fault of ['error:503', 'reset', 'hang']) {
      // Three failed requests would put openai in cooldown and change the order under test.
      await forgetHealth(stack);
      const routed = await streamOf(stack.services.router, `openai=${fault}`);
      for await (const _chunk of routed.chunks);
      expect(routed.attempts.map((attempt) => attempt.provider)).toEqual([
        'openai',
        'openai',
        'custom',
      ]);
      expect(routed.attempts.at(-1)!.ttfbMs).not.toBeNull();
      expect(routed.metadata).toMatchObject({ selectedProvider: 'custom', fallbackUsed: true });
    }
    const rejected = await streamOf(stack.services.router, 'openai=error:400').catch(
      (caught: unknown) => caught,
    );
    expect(rejected).toBeInstanceOf(RouteError);
    expect((rejected as RouteError).code).toBe('request_rejected');
    expect((rejected as RouteError).attempts).toHaveLength(1);
  });

  it('invalid output falls back and counts toward cooldown: JSON', async () => {
    const stack = use();
    const routed = await routerWithInvalidOpenAI(stack).route({
      requestId: randomUUID(),
      build: (config) => ({
        model: config.model ?? 'm',
        messages: [{ role: 'user', content: 'say hello' }],
      }),
    });
    await expectInvalidOutputCounted(stack, routed);
  });

  it('invalid output falls back and counts toward cooldown: streaming', async () => {
    const stack = use();
    const routed = await streamOf(routerWithInvalidOpenAI(stack));
    for await (const _chunk of routed.chunks);
    await expectInvalidOutputCounted(stack, routed);
  });

  it('invalid output refused by the recipe (accept) counts toward cooldown like any failure', async () => {
    const stack = use();
    const routed = await stack.services.router.route({
      requestId: randomUUID(),
      simulate: 'openai=invalid-json',
      build: (config) => ({
        model: config.model ?? 'm',
        messages: [{ role: 'user', content: 'say hello' }],
        response_format: { type: 'json_object' },
      }),
      accept: (result, config) => {
        try {
          return JSON.parse(result.content) as unknown;
        } catch (error) {
          throw new ProviderError({
            provider: config.provider,
            message: 'the answer is not JSON',
            errorClass: 'invalid_output',
            retryable: false,
            cause: error,
          });
        }
      },
    });
    await expectInvalidOutputCounted(stack, routed);
  });
});
