import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import { expect, it } from 'vitest';
import { upsertUserLimit } from '../../src/sql/budgets.ts';
import { purgeExpiredSemanticAnswers } from '../../src/sql/semantic-cache.ts';
import { type ChatBody, cacheableQuestion, waitForCacheEntries } from '../helpers/cache.ts';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

type Body = ChatBody;

const SEMANTIC = { 'x-genloop-cache': 'semantic' };

function question(text: string, extra: Partial<Body> = {}): Body {
  return cacheableQuestion('You help people study.', text, extra);
}

/** Waits until `count` entries of `scope` are stored (the store follows the answer). */
function stored(stack: Stack, scope: string, count = 1): Promise<void> {
  return waitForCacheEntries(stack, 'ai_semantic_cache', scope, count);
}

async function trainingRows(stack: Stack, requestId: string, count: number) {
  return eventually(async () => {
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query<Record<string, unknown>>(
      'select * from ai_training_examples where request_id = $1 order by source',
      [requestId],
    );
    return rows.length >= count ? rows : undefined;
  });
}

const chatCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/chat\/completions$/ }).length;
const embeddingCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/embeddings$/ }).length;

async function ask(openai: OpenAI, body: Body, headers: Record<string, string> = SEMANTIC) {
  const { data, response } = await openai.chat.completions.create(body, { headers }).withResponse();
  return {
    data,
    cache: response.headers.get('x-genloop-cache'),
    semantic: response.headers.get('x-genloop-cache-semantic'),
    timing: response.headers.get('server-timing') ?? '',
    requestId: response.headers.get('x-request-id')!,
  };
}

function distanceOf(timing: string): number | undefined {
  const match = /cache;desc="[a-z]+";dist=([0-9.]+)/.exec(timing);
  return match ? Number(match[1]) : undefined;
}

describeEachStack('the semantic response cache on /v1/chat/completions', (use) => {
  it('a paraphrase hits: no chat call, the distance in server-timing, recorded as generation_cached', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const first = await ask(openai, question('How do I make flashcards from my lecture notes?'));
    expect(first.cache).toBe('miss');
    expect(first.timing).toMatch(/cache;desc="miss";dur=/);
    await stored(stack, userId);

    const chats = chatCalls(stack);
    const embeds = embeddingCalls(stack);
    const second = await ask(openai, question('How can I create flash cards from my notes?'));
    expect(second.cache).toBe('hit');
    expect(chatCalls(stack)).toBe(chats);
    expect(embeddingCalls(stack)).toBe(embeds + 1);
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    const distance = distanceOf(second.timing);
    expect(second.timing).toMatch(/cache;desc="semantic";dist=0\.\d{3};dur=[0-9.]+/);
    expect(distance).toBeGreaterThan(0);
    expect(distance).toBeLessThanOrEqual(0.1);

    // Two rows share the hit's request id: the embedding call that found it, and the answer.
    const [generation, cached] = await trainingRows(stack, second.requestId, 2);
    expect(cached).toMatchObject({
      source: 'generation_cached',
      recipe: 'gateway',
      status: 'succeeded',
      user_id: userId,
      fallback_used: false,
      planned_provider: null,
    });
    expect(Number(cached!.cost_usd)).toBe(0);
    expect(generation).toMatchObject({
      source: 'generation',
      status: 'succeeded',
      model: 'text-embedding-3-small',
      output: { object: 'embeddings', count: 1, dimensions: 256 },
    });
    const { rows: attempts } = await stack.database.db.query<{
      training_example_id: string;
      cost_usd: number;
    }>('select training_example_id, cost_usd from ai_provider_attempts where request_id = $1', [
      second.requestId,
    ]);
    expect(attempts.map((attempt) => attempt.training_example_id)).toEqual([generation!.id]);
    // A few tokens at $0.02 per million: under the micro-dollar the training row keeps.
    expect(Number(attempts[0]!.cost_usd)).toBeGreaterThan(0);
  });

  it('the same request hits exactly first, without an embedding call', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const body = question('What is spaced repetition?');
    await ask(openai, body);
    await stored(stack, userId);
    await eventually(async () =>
      (await stack.database.db.query('select 1 from ai_response_cache where scope = $1', [userId]))
        .rowCount > 0
        ? true
        : undefined,
    );
    const embeds = embeddingCalls(stack);
    const again = await ask(openai, body);
    expect(again.cache).toBe('hit');
    expect(again.timing).toMatch(/cache;desc="exact";dur=/);
    expect(embeddingCalls(stack)).toBe(embeds);
  });

  it('misses what asks for something else, or in another context, or for someone else', async () => {
    const stack = use();
    const owner = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(owner));
    await ask(openai, question('Suggest a minimalist style for my bedroom'));
    await stored(stack, owner);

    const kitchen = await ask(openai, question('Suggest a minimalist style for my kitchen'));
    expect(kitchen.cache).toBe('miss');
    expect(distanceOf(kitchen.timing)).toBeGreaterThan(0.1);

    const paraphrase = 'Recommend a minimal look for my bedroom';
    const otherSystem = question(paraphrase);
    otherSystem.messages[0] = { role: 'system', content: 'You are an interior designer.' };
    const warmer = question(paraphrase, { temperature: 0.7 });
    for (const body of [otherSystem, warmer]) {
      const answer = await ask(openai, body);
      expect(answer.cache).toBe('miss');
      // Another context shares no entry to compare with.
      expect(distanceOf(answer.timing)).toBeUndefined();
    }

    const stranger = await gatewayClient(stack, await stack.token(randomUUID()));
    expect((await ask(stranger, question(paraphrase))).cache).toBe('miss');
    expect((await ask(openai, question(paraphrase))).cache).toBe('hit');
  });

  it('a hit streams like a live answer', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const live = await ask(openai, question('Build a website for my bakery'));
    await stored(stack, userId);
    const chats = chatCalls(stack);
    const replay = await openai.chat.completions
      .create(
        {
          ...question('Create a web site for my bakery'),
          stream: true,
          stream_options: { include_usage: true },
        },
        { headers: SEMANTIC },
      )
      .withResponse();
    expect(replay.response.headers.get('x-genloop-cache')).toBe('hit');
    expect(replay.response.headers.get('content-type')).toMatch(/text\/event-stream/);
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of replay.data) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage ??= chunk.usage;
    }
    expect(text).toBe(live.data.choices[0]?.message.content);
    expect(usage?.total_tokens).toBeGreaterThan(0);
    expect(chatCalls(stack)).toBe(chats);
  });

  it('tools and high temperatures bypass it unless forced; other content is looked up exactly', async () => {
    const stack = use();
    const openai = await gatewayClient(stack, await stack.token());
    const embeds = embeddingCalls(stack);
    const hot = await ask(openai, question('Invent a word for a tidy desk', { temperature: 1.6 }));
    expect(hot.cache).toBe('bypass');
    const image: Body = question('x');
    image.messages[1] = {
      role: 'user',
      content: [
        { type: 'text', text: 'What style is this room?' },
        { type: 'image_url', image_url: { url: 'https://example.com/room.png' } },
      ],
    };
    const withImage = await ask(openai, image);
    expect(withImage.cache).toBe('miss');
    expect(withImage.semantic).toBe('not_applicable');
    expect(embeddingCalls(stack)).toBe(embeds);
    const forced = await ask(
      openai,
      question('Invent a word for a tidy desk', { temperature: 1.6 }),
      {
        'x-genloop-cache': 'Semantic; force',
      },
    );
    expect(forced.cache).toBe('miss');
    expect(embeddingCalls(stack)).toBe(embeds + 1);
  });

  it('a failing embedding call makes a miss, never a failed chat', async () => {
    const stack = use();
    const openai = await gatewayClient(stack, await stack.token());
    const chats = chatCalls(stack);
    const broken = [
      'openai/text-embedding-3-small=error:500',
      'custom/text-embedding-3-small=error:500',
      'openrouter/text-embedding-3-small=error:500',
    ].join(';');
    const answer = await ask(openai, question('Explain the Krebs cycle'), {
      ...SEMANTIC,
      'x-genloop-simulate': broken,
    });
    expect(answer.cache).toBe('miss');
    expect(answer.data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(answer.timing).toMatch(/cache;desc="miss";dur=/);
    expect(chatCalls(stack)).toBe(chats + 1);
  });

  it('a hit reserves nothing for the chat; only its embedding call is settled', async () => {
    const stack = use();
    const userId = randomUUID();
    await upsertUserLimit(stack.database.db, { userId, limitUsd: 1, period: 'day' });
    stack.services.budgets.invalidate();
    const openai = await gatewayClient(stack, await stack.token(userId));
    const ledger = async () =>
      (
        await stack.database.db.query<{ kind: string; cost_usd: number | null }>(
          'select kind, cost_usd from budget_ledger where user_id = $1 order by id',
          [userId],
        )
      ).rows;
    expect((await ask(openai, question('Turn these notes into flashcards'))).cache).toBe('miss');
    // The embedding call, then the chat call: each reserved and settled.
    expect((await ledger()).map((entry) => entry.kind)).toEqual([
      'reserve',
      'settle',
      'reserve',
      'settle',
    ]);
    await stored(stack, userId);
    const hit = await ask(openai, question('Please turn these notes into flash cards.'));
    expect(hit.cache).toBe('hit');
    const entries = await ledger();
    expect(entries.map((entry) => entry.kind)).toEqual([
      'reserve',
      'settle',
      'reserve',
      'settle',
      'reserve',
      'settle',
    ]);
    await stack.services.telemetry.flush();
    const { rows: attempts } = await stack.database.db.query<{ cost_usd: number }>(
      'select cost_usd from ai_provider_attempts where request_id = $1',
      [hit.requestId],
    );
    expect(attempts).toHaveLength(1);
    expect(Number(entries.at(-1)!.cost_usd)).toBeCloseTo(Number(attempts[0]!.cost_usd), 10);
    expect(Number(entries.at(-1)!.cost_usd)).toBeGreaterThan(0);
  });

  it('ignores expired entries, and db prune deletes them', async () => {
    const stack = use();
    const userId = randomUUID();
    const openai = await gatewayClient(stack, await stack.token(userId));
    await ask(openai, question('Summarize the causes of World War I'));
    await stored(stack, userId);
    const { rows } = await stack.database.db.query<{ ttl: number }>(
      `select extract(epoch from expires_at - created_at)::float8 as ttl
         from ai_semantic_cache where scope = $1`,
      [userId],
    );
    expect(rows[0]!.ttl).toBeCloseTo(3600, 0);
    await stack.database.db.query(
      `update ai_semantic_cache set expires_at = now() - interval '1 second' where scope = $1`,
      [userId],
    );
    const paraphrase = await ask(
      openai,
      question('Give me a summary of the causes of World War I'),
    );
    expect(paraphrase.cache).toBe('miss');
    expect(distanceOf(paraphrase.timing)).toBeUndefined();
    await stored(stack, userId, 2);
    await stack.database.db.query(
      `update ai_semantic_cache set expires_at = now() - interval '1 second' where scope = $1`,
      [userId],
    );
    expect(await purgeExpiredSemanticAnswers(stack.database.db, 1)).toBe(2);
    const left = await stack.database.db.query('select 1 from ai_semantic_cache where scope = $1', [
      userId,
    ]);
    expect(left.rowCount).toBe(0);
  });

  it('a bad header value is a 400 naming it', async () => {
    const stack = use();
    const chats = chatCalls(stack);
    for (const value of ['semantic; force; force', 'semantic;', 'semantic; distance=0.5']) {
      const response = await stack.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await stack.token()}`,
          'content-type': 'application/json',
          'x-genloop-cache': value,
        },
        body: JSON.stringify(question('hello')),
      });
      expect(response.status, value).toBe(400);
      const problem = (await response.json()) as { errors: Array<{ field: string }> };
      expect(problem.errors[0]?.field).toBe('header.x-genloop-cache');
    }
    expect(chatCalls(stack)).toBe(chats);
  });
});

describeEachStack(
  'the semantic cache by default, with a looser distance and the global scope',
  (use) => {
    it('answers another caller within GENLOOP_CACHE_SEMANTIC_DISTANCE', async () => {
      const stack = use();
      const first = await ask(await gatewayClient(stack), question('Name a bird of Tasmania.'), {});
      expect(first.cache).toBe('miss');
      await stored(stack, 'global');
      const other = await ask(await gatewayClient(stack), question('Name a Tasmanian bird'), {});
      expect(other.cache).toBe('hit');
      expect(distanceOf(other.timing)).toBeGreaterThan(0.1);
      expect(distanceOf(other.timing)).toBeLessThanOrEqual(0.5);
    });
  },
  {
    GENLOOP_CACHE_DEFAULT: 'semantic',
    GENLOOP_CACHE_SCOPE: 'global',
    GENLOOP_CACHE_SEMANTIC_DISTANCE: '0.5',
  },
);
