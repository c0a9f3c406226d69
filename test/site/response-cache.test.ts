import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

async function generate(stack: Stack, prompt: string) {
  const token = await stack.token();
  const response = await stack.app.request('/functions/v1/generate-site', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { site: unknown; requestId: string; selectedProvider: string };
}

describeEachStack(
  'identical briefs within the cache TTL',
  (use) => {
    it('the second is served from the cache, with no provider call, recorded as generation_cached', async () => {
      const stack = use();
      stack.simulator.reset();
      const first = await generate(stack, 'A cycling club in Launceston');
      await eventually(async () => {
        const { rowCount } = await stack.database.db.query('select 1 from ai_response_cache');
        return rowCount > 0 ? true : undefined;
      });
      const second = await generate(stack, 'A cycling club in Launceston');
      expect(second.site).toEqual(first.site);
      expect(second.requestId).not.toBe(first.requestId);
      expect(second.selectedProvider).toBe(first.selectedProvider);
      expect(stack.simulator.requests({ method: 'POST' })).toHaveLength(1);

      await stack.services.telemetry.flush();
      const { rows } = await stack.database.db.query<{ source: string; selected_provider: string }>(
        'select source, selected_provider from ai_training_examples where request_id = any($1::uuid[]) order by created_at',
        [[first.requestId, second.requestId]],
      );
      expect(rows).toEqual([
        { source: 'generation', selected_provider: first.selectedProvider },
        { source: 'generation_cached', selected_provider: first.selectedProvider },
      ]);
      const attempts = await stack.database.db.query(
        'select 1 from ai_provider_attempts where request_id = $1',
        [second.requestId],
      );
      expect(attempts.rowCount).toBe(0);
    });

    it('a different brief is not served from the cache', async () => {
      const stack = use();
      stack.simulator.reset();
      await generate(stack, 'A pottery studio in Fremantle');
      await generate(stack, 'A pottery studio in Geelong');
      expect(stack.simulator.requests({ method: 'POST' })).toHaveLength(2);
    });
  },
  { GENLOOP_CACHE_TTL_SECONDS: '60' },
);

async function generateWith(
  stack: Stack,
  body: Record<string, unknown>,
  cache: string,
  userId?: string,
) {
  const response = await stack.app.request('/functions/v1/generate-site', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await stack.token(userId)}`,
      'content-type': 'application/json',
      'x-genloop-cache': cache,
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    cache: response.headers.get('x-genloop-cache'),
    semantic: response.headers.get('x-genloop-cache-semantic'),
    timing: response.headers.get('server-timing') ?? '',
    body: (await response.json()) as {
      site: unknown;
      requestId: string;
      usage: { costUsd: number | null };
      errors?: Array<{ field: string }>;
    },
  };
}

const chatCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/chat\/completions$/ }).length;

async function storedSite(stack: Stack, scope: string, table = 'ai_response_cache') {
  await eventually(async () => {
    const { rowCount } = await stack.database.db.query(`select 1 from ${table} where scope = $1`, [
      scope,
    ]);
    return rowCount > 0 ? true : undefined;
  });
}

describeEachStack('generate-site and the x-genloop-cache header', (use) => {
  it('exact: a miss, then a hit per user, with the same headers as the gateway', async () => {
    const stack = use();
    const userId = randomUUID();
    const brief = { prompt: 'A surf school in Margaret River', tone: 'friendly' };
    const first = await generateWith(stack, brief, 'exact', userId);
    expect(first.status).toBe(200);
    expect(first.cache).toBe('miss');
    expect(first.timing).toMatch(/^cache;dur=/);
    await storedSite(stack, userId);
    const calls = chatCalls(stack);
    const second = await generateWith(stack, brief, 'exact', userId);
    expect(second.cache).toBe('hit');
    expect(second.body.site).toEqual(first.body.site);
    expect(chatCalls(stack)).toBe(calls);
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query<{ source: string }>(
      'select source from ai_training_examples where request_id = $1',
      [second.body.requestId],
    );
    expect(rows).toEqual([{ source: 'generation_cached' }]);
    // Another user, or another tone, is a miss.
    expect((await generateWith(stack, brief, 'exact')).cache).toBe('miss');
    expect(
      (await generateWith(stack, { ...brief, tone: 'professional' }, 'exact', userId)).cache,
    ).toBe('miss');
  });

  it('semantic: a reworded brief hits, with the distance in server-timing', async () => {
    const stack = use();
    const userId = randomUUID();
    const first = await generateWith(
      stack,
      { prompt: 'Build a website for my bakery' },
      'semantic',
      userId,
    );
    expect(first.cache).toBe('miss');
    await storedSite(stack, userId, 'ai_semantic_cache');
    const calls = chatCalls(stack);
    const second = await generateWith(
      stack,
      { prompt: 'Create a web site for my bakery' },
      'semantic',
      userId,
    );
    expect(second.cache).toBe('hit');
    expect(second.timing).toMatch(/^cache;desc="semantic";dist=0\.\d{3};dur=/);
    expect(second.body.site).toEqual(first.body.site);
    expect(chatCalls(stack)).toBe(calls);
    // The same words for another audience are another brief.
    const other = await generateWith(
      stack,
      { prompt: 'Create a web site for my bakery', audience: 'wholesale buyers' },
      'semantic',
      userId,
    );
    expect(other.cache).toBe('miss');
  });

  it('off and patch mode are not cached; a bad header is a 400 naming it', async () => {
    const stack = use();
    const userId = randomUUID();
    const brief = { prompt: 'A bike repair shop in Ballarat' };
    const created = await generateWith(stack, brief, 'exact', userId);
    await storedSite(stack, userId);
    expect((await generateWith(stack, brief, 'off', userId)).cache).toBeNull();
    const patch = await generateWith(
      stack,
      { prompt: 'Make the hero friendlier', mode: 'patch', site: created.body.site },
      'exact',
      userId,
    );
    expect(patch.status).toBe(200);
    expect(patch.cache).toBe('bypass');
    const calls = chatCalls(stack);
    const bad = await generateWith(stack, brief, 'sometimes', userId);
    expect(bad.status).toBe(400);
    expect(bad.body.errors?.[0]?.field).toBe('header.x-genloop-cache');
    expect(chatCalls(stack)).toBe(calls);
  });
});
