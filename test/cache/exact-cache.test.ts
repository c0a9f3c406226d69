import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import { expect, it } from 'vitest';
import { upsertUserLimit } from '../../src/sql/budgets.ts';
import { purgeExpiredAnswers } from '../../src/sql/response-cache.ts';
import { type ChatBody, cacheableQuestion, waitForCacheEntries } from '../helpers/cache.ts';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

type Body = ChatBody;

const EXACT = { headers: { 'x-genloop-cache': 'exact' } };

function question(text: string, extra: Partial<Body> = {}): Body {
  return cacheableQuestion('You answer in one sentence.', text, extra);
}

/** Waits until `count` entries of `scope` are stored (the store follows the answer). */
function stored(stack: Stack, scope: string, count = 1): Promise<void> {
  return waitForCacheEntries(stack, 'ai_response_cache', scope, count);
}

async function trainingRow(stack: Stack, requestId: string) {
  return eventually(async () => {
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query<Record<string, unknown>>(
      'select * from ai_training_examples where request_id = $1',
      [requestId],
    );
    return rows[0];
  });
}

async function attemptCount(stack: Stack, requestId: string): Promise<number> {
  await stack.services.telemetry.flush();
  const { rows } = await stack.database.db.query<{ n: number }>(
    'select count(*)::int as n from ai_provider_attempts where request_id = $1',
    [requestId],
  );
  return rows[0]!.n;
}

const providerCalls = (stack: Stack) => stack.simulator.requests({ method: 'POST' }).length;

async function ask(openai: OpenAI, body: Body, headers: Record<string, string> = EXACT.headers) {
  const { data, response } = await openai.chat.completions.create(body, { headers }).withResponse();
  return {
    data,
    cache: response.headers.get('x-genloop-cache'),
    requestId: response.headers.get('x-request-id')!,
    provider: response.headers.get('x-genloop-selected-provider'),
  };
}

describeEachStack('the exact response cache on /v1/chat/completions', (use) => {
  it('a miss, then a hit with no provider call and no attempt, recorded as generation_cached', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const body = question('Name a bird of Tasmania.');
    const first = await ask(openai, body);
    expect(first.cache).toBe('miss');
    await stored(stack, userId);
    const calls = providerCalls(stack);

    const second = await ask(openai, body);
    expect(second.cache).toBe('hit');
    expect(providerCalls(stack)).toBe(calls);
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    expect(second.data.id).not.toBe(first.data.id);
    expect(second.provider).toBe(first.provider);
    expect(await attemptCount(stack, first.requestId)).toBeGreaterThan(0);
    expect(await attemptCount(stack, second.requestId)).toBe(0);

    const missRow = await trainingRow(stack, first.requestId);
    const hitRow = await trainingRow(stack, second.requestId);
    expect(missRow.source).toBe('generation');
    expect(hitRow).toMatchObject({
      source: 'generation_cached',
      recipe: 'gateway',
      status: 'succeeded',
      user_id: userId,
      request_id: second.requestId,
      selected_provider: missRow.selected_provider,
      route_strategy: missRow.route_strategy,
      prompt_template_version: missRow.prompt_template_version,
      fallback_used: false,
      fallback_provider: null,
      planned_provider: null,
    });
    expect(Number(hitRow.cost_usd)).toBe(0);
    expect(hitRow.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('keys on what changes the answer: key order, stream and user do not; temperature does', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    await ask(openai, question('Name a river of Victoria.'));
    await stored(stack, userId);
    const reordered = Object.fromEntries(
      Object.entries({ ...question('Name a river of Victoria.'), user: 'someone' }).reverse(),
    ) as unknown as Body;
    expect((await ask(openai, reordered)).cache).toBe('hit');
    const warmer = await ask(openai, question('Name a river of Victoria.', { temperature: 0.3 }));
    expect(warmer.cache).toBe('miss');
    const longer = await ask(openai, question('Name a river of Victoria.', { max_tokens: 41 }));
    expect(longer.cache).toBe('miss');
  });

  it('is per user: another user misses the same request', async () => {
    const stack = use();
    const owner = randomUUID();
    const body = question('Name a mountain of New South Wales.');
    await ask(await gatewayClient(stack, await stack.token(owner)), body);
    await stored(stack, owner);
    const other = randomUUID();
    const calls = providerCalls(stack);
    const answer = await ask(await gatewayClient(stack, await stack.token(other)), body);
    expect(answer.cache).toBe('miss');
    expect(providerCalls(stack)).toBe(calls + 1);
  });

  it('bypasses requests with tools or a high temperature unless forced', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const tools: Body['tools'] = [
      {
        type: 'function',
        function: { name: 'lookup', parameters: { type: 'object', properties: {} } },
      },
    ];
    const hot = question('Invent a word.', { temperature: 1.5 });
    const withTools = question('What is the time?', { tools });
    for (const body of [hot, withTools]) {
      const calls = providerCalls(stack);
      const first = await ask(openai, body);
      const second = await ask(openai, body);
      expect([first.cache, second.cache]).toEqual(['bypass', 'bypass']);
      expect(providerCalls(stack)).toBe(calls + 2);
    }
    const { rows } = await stack.database.db.query(
      'select 1 from ai_response_cache where scope = $1',
      [userId],
    );
    expect(rows).toHaveLength(0);

    const force = { 'x-genloop-cache': 'Exact; force' };
    expect((await ask(openai, hot, force)).cache).toBe('miss');
    await stored(stack, userId);
    expect((await ask(openai, hot, force)).cache).toBe('hit');
    expect((await ask(openai, hot)).cache).toBe('bypass');
  });

  it('a streamed answer is stored when it finishes, and a hit streams as SSE the SDK reads', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const body = question('Describe Hobart in one line.');

    const live = await openai.chat.completions
      .create({ ...body, stream: true }, EXACT)
      .withResponse();
    expect(live.response.headers.get('x-genloop-cache')).toBe('miss');
    let liveText = '';
    for await (const chunk of live.data) liveText += chunk.choices[0]?.delta?.content ?? '';
    await stored(stack, userId);

    const json = await ask(openai, body);
    expect(json.cache).toBe('hit');
    expect(json.data.choices[0]?.message.content).toBe(liveText);
    expect(json.data.choices[0]?.finish_reason).toBeTruthy();

    const calls = providerCalls(stack);
    const replay = await openai.chat.completions
      .create({ ...body, stream: true, stream_options: { include_usage: true } }, EXACT)
      .withResponse();
    expect(replay.response.headers.get('x-genloop-cache')).toBe('hit');
    expect(replay.response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of replay.data) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(liveText);
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(true);
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
    expect(providerCalls(stack)).toBe(calls);
    const requestId = replay.response.headers.get('x-request-id')!;
    expect((await trainingRow(stack, requestId)).source).toBe('generation_cached');
    expect(await attemptCount(stack, requestId)).toBe(0);
  });

  it('a cut stream is not stored', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const stream = await openai.chat.completions.create(
      { ...question('Tell a long story about Perth.'), stream: true },
      { headers: { 'x-genloop-cache': 'exact', 'x-genloop-simulate': 'openai=stream-cut:2' } },
    );
    const failure = await (async () => {
      for await (const _chunk of stream);
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(Error);
    // The failed generation is recorded after the point where a finished stream is stored.
    await eventually(async () => {
      await stack.services.telemetry.flush();
      const failed = await stack.database.db.query(
        `select 1 from ai_training_examples where user_id = $1 and status = 'failed'`,
        [userId],
      );
      return failed.rowCount > 0 ? true : undefined;
    });
    const { rows } = await stack.database.db.query(
      'select 1 from ai_response_cache where scope = $1',
      [userId],
    );
    expect(rows).toHaveLength(0);
  });

  it('a hit costs nothing against the budget; a miss is reserved and settled', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 1, period: 'day' });
    stack.services.budgets.invalidate();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const body = question('Name a beach of Queensland.');
    const ledger = async () =>
      (
        await stack.database.db.query<{ kind: string }>(
          'select kind from budget_ledger where user_id = $1 order by id',
          [userId],
        )
      ).rows.map((row) => row.kind);
    expect((await ask(openai, body)).cache).toBe('miss');
    expect(await ledger()).toEqual(['reserve', 'settle']);
    await stored(stack, userId);
    expect((await ask(openai, body)).cache).toBe('hit');
    const streamed = await openai.chat.completions
      .create({ ...body, stream: true }, EXACT)
      .withResponse();
    expect(streamed.response.headers.get('x-genloop-cache')).toBe('hit');
    for await (const _chunk of streamed.data);
    expect(await ledger()).toEqual(['reserve', 'settle']);
  });

  it('ignores an expired entry, keeps entries for the TTL, and db prune deletes expired ones', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const body = question('Name a lake of South Australia.');
    await ask(openai, body);
    await stored(stack, userId);
    const { rows } = await stack.database.db.query<{ ttl: number }>(
      `select extract(epoch from expires_at - created_at)::float8 as ttl
         from ai_response_cache where scope = $1`,
      [userId],
    );
    expect(rows[0]!.ttl).toBeCloseTo(3600, 0);
    await stack.database.db.query(
      `update ai_response_cache set expires_at = now() - interval '1 second' where scope = $1`,
      [userId],
    );
    const calls = providerCalls(stack);
    expect((await ask(openai, body)).cache).toBe('miss');
    expect(providerCalls(stack)).toBe(calls + 1);
    // The miss stores a fresh entry in place of the expired one.
    await eventually(async () => {
      const fresh = await stack.database.db.query(
        'select 1 from ai_response_cache where scope = $1 and expires_at > now()',
        [userId],
      );
      return fresh.rowCount > 0 ? true : undefined;
    });
    await stack.database.db.query(
      `update ai_response_cache set expires_at = now() - interval '1 second' where scope = $1`,
      [userId],
    );
    expect(await purgeExpiredAnswers(stack.database.db, 2)).toBeGreaterThanOrEqual(1);
    const left = await stack.database.db.query(
      'select 1 from ai_response_cache where expires_at <= now()',
    );
    expect(left.rowCount).toBe(0);
  });

  it('off or no header: no lookup and no cache header', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const body = question('Name a desert of Western Australia.');
    await ask(openai, body);
    await stored(stack, userId);
    const calls = providerCalls(stack);
    expect((await ask(openai, body, { 'x-genloop-cache': 'off' })).cache).toBeNull();
    expect((await ask(openai, body, {})).cache).toBeNull();
    expect(providerCalls(stack)).toBe(calls + 2);
  });

  it('a bad header is a 400 naming it, in the OpenAI error shape, with no provider call', async () => {
    const stack = use();
    const token = await stack.token();
    const calls = providerCalls(stack);
    for (const value of [
      'always',
      'semantics',
      'exact; forever',
      'exact; force; force',
      'semantic; distance=0.2',
      '',
    ]) {
      const response = await stack.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-genloop-cache': value,
        },
        body: JSON.stringify(question('hello')),
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const problem = (await response.json()) as {
        code: string;
        errors: Array<{ field: string }>;
        error: { type: string; param: string };
      };
      expect(problem.code).toBe('validation_failed');
      expect(problem.errors[0]?.field).toBe('header.x-genloop-cache');
      expect(problem.error).toMatchObject({
        type: 'invalid_request_error',
        param: 'header.x-genloop-cache',
      });
    }
    expect(providerCalls(stack)).toBe(calls);
  });
});

describeEachStack(
  'the exact cache on by default, shared by every caller',
  (use) => {
    it('with no header the default applies, and another user hits under the global scope', async () => {
      const stack = use();
      const body = question('Name a city of the Northern Territory.');
      const first = await ask(await gatewayClient(stack), body, {});
      expect(first.cache).toBe('miss');
      await stored(stack, 'global');
      const calls = providerCalls(stack);
      const other = await ask(await gatewayClient(stack), body, {});
      expect(other.cache).toBe('hit');
      expect(other.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
      expect(providerCalls(stack)).toBe(calls);
      const off = await ask(await gatewayClient(stack), body, { 'x-genloop-cache': 'off' });
      expect(off.cache).toBeNull();
      expect(providerCalls(stack)).toBe(calls + 1);
    });
  },
  { GENLOOP_CACHE_DEFAULT: 'exact', GENLOOP_CACHE_SCOPE: 'global' },
);
