import { randomUUID } from 'node:crypto';
import type { APIError } from 'openai';
import { expect, it } from 'vitest';
import { upsertUserLimit } from '../../src/sql/budgets.ts';
import { expectProblem, rejectionOf } from '../helpers/errors.ts';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

const API_KEY = 'gl_test_key_that_is_long_enough_0123456789';

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

async function attempts(stack: Stack, requestId: string) {
  await stack.services.telemetry.flush();
  const { rows } = await stack.database.db.query<Record<string, unknown>>(
    `select provider, model, status, error_class, http_status, cost_usd, training_example_id
       from ai_provider_attempts where request_id = $1 order by attempt_no`,
    [requestId],
  );
  return rows;
}

const embeddingCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/embeddings$/ }).length;

async function post(stack: Stack, body: unknown, headers: Record<string, string> = {}) {
  return stack.app.request('/v1/embeddings', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await stack.token()}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describeEachStack(
  'POST /v1/embeddings',
  (use) => {
    it('the official openai client gets one vector per input, routed and recorded once', async () => {
      const stack = use();
      const userId = randomUUID();
      const openai = await gatewayClient(stack, await stack.token(userId));
      const input = ['Make flashcards from my biology notes', 'Redesign my kitchen'];
      const { data, response } = await openai.embeddings
        .create({ model: 'text-embedding-3-small', input })
        .withResponse();
      expect(data.data).toHaveLength(2);
      expect(data.data.map((item) => item.index)).toEqual([0, 1]);
      expect(data.data[0]!.embedding).toHaveLength(1536);
      expect(Math.hypot(...data.data[0]!.embedding)).toBeCloseTo(1, 4);
      expect(data.model).toBe('text-embedding-3-small');
      const tokens = input.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
      expect(data.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
      expect(response.headers.get('x-genloop-selected-provider')).toBe('openai');
      expect(response.headers.get('x-genloop-route-strategy')).toBe('fallback');
      expect(response.headers.get('server-timing')).toMatch(/provider;dur=/);

      // What the provider was sent: the texts, no encoding asked (floats), the model.
      const sent = stack.simulator.requests({ method: 'POST', path: /\/embeddings$/ }).at(-1);
      expect(sent?.provider).toBe('openai');
      expect(sent?.body).toEqual({ model: 'text-embedding-3-small', input });

      const requestId = response.headers.get('x-request-id')!;
      const row = await trainingRow(stack, requestId);
      expect(row).toMatchObject({
        recipe: 'gateway',
        source: 'generation',
        status: 'succeeded',
        user_id: userId,
        selected_provider: 'openai',
        route_strategy: 'fallback',
        fallback_used: false,
        model: 'text-embedding-3-small',
        tokens_input: tokens,
        tokens_output: 0,
        prompt: input[0],
        output: { object: 'embeddings', count: 2, dimensions: 1536 },
      });
      // text-embedding-3-small: $0.02 per million input tokens.
      expect(Number(row.cost_usd)).toBeCloseTo((tokens * 0.02) / 1e6, 6);
      const rows = await attempts(stack, requestId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        provider: 'openai',
        model: 'text-embedding-3-small',
        status: 'succeeded',
        training_example_id: row.id,
      });
      expect(Number(rows[0]!.cost_usd)).toBeCloseTo((tokens * 0.02) / 1e6, 10);
    });

    it('dimensions and encoding_format: base64 and float carry the same vector', async () => {
      const stack = use();
      const openai = await gatewayClient(stack);
      const input = 'A quiet reading corner';
      const floats = await openai.embeddings.create({
        model: 'default',
        input,
        dimensions: 64,
        encoding_format: 'float',
      });
      // No encoding_format: the SDK asks genloop for base64 and decodes it.
      const decoded = await openai.embeddings.create({ model: 'default', input, dimensions: 64 });
      expect(floats.data[0]!.embedding).toHaveLength(64);
      for (const [index, value] of decoded.data[0]!.embedding.entries()) {
        expect(value).toBeCloseTo(floats.data[0]!.embedding[index]!, 6);
      }
      const raw = await post(stack, { model: 'default', input, encoding_format: 'base64' });
      const body = (await raw.json()) as { data: Array<{ embedding: unknown }> };
      expect(typeof body.data[0]!.embedding).toBe('string');
      expect(Buffer.from(body.data[0]!.embedding as string, 'base64')).toHaveLength(1536 * 4);
    });

    it('retries and falls back like chat: a failing provider, then the next one, every attempt recorded', async () => {
      const stack = use();
      const openai = await gatewayClient(stack, undefined, {
        'x-genloop-simulate': 'openai=error:503',
      });
      const { response } = await openai.embeddings
        .create({ model: 'default', input: 'Name a beach of Queensland' })
        .withResponse();
      expect(response.headers.get('x-genloop-selected-provider')).toBe('custom');
      expect(response.headers.get('x-genloop-fallback-used')).toBe('true');
      const requestId = response.headers.get('x-request-id')!;
      const row = await trainingRow(stack, requestId);
      expect(row).toMatchObject({
        status: 'succeeded',
        selected_provider: 'custom',
        fallback_used: true,
        fallback_provider: 'custom',
      });
      const rows = await attempts(stack, requestId);
      expect(rows.at(-1)).toMatchObject({ provider: 'custom', status: 'succeeded' });
      expect(rows.slice(0, -1).every((attempt) => attempt.provider === 'openai')).toBe(true);
      expect(rows[0]).toMatchObject({
        status: 'failed',
        error_class: 'server_error',
        http_status: 503,
      });
      expect(rows.length).toBeGreaterThanOrEqual(2);
    });

    it('every provider failing is a 502 in OpenAI shape, recorded as a failed row', async () => {
      const stack = use();
      const openai = await gatewayClient(stack, undefined, {
        'x-genloop-simulate': 'openai=error:500;custom=error:500;openrouter=error:500',
      });
      const error = (await rejectionOf(
        openai.embeddings.create({ model: 'default', input: 'x' }),
      )) as APIError;
      expect(error.status).toBe(502);
      expect(error.code).toBe('all_providers_failed');
      const requestId = error.headers?.get('x-request-id') ?? '';
      expect((await trainingRow(stack, requestId)).status).toBe('failed');
      expect((await attempts(stack, requestId)).every((row) => row.status === 'failed')).toBe(true);
    });

    it('models: provider/model pins the provider; an unknown model is a 400 naming body.model', async () => {
      const stack = use();
      const openai = await gatewayClient(stack);
      const { response } = await openai.embeddings
        .create({ model: 'custom/nomic-embed-text', input: 'hello' })
        .withResponse();
      expect(response.headers.get('x-genloop-selected-provider')).toBe('custom');
      const sent = stack.simulator.requests({ method: 'POST', path: /\/embeddings$/ }).at(-1);
      expect(sent?.body).toMatchObject({ model: 'nomic-embed-text' });

      const calls = embeddingCalls(stack);
      const unknown = await post(stack, { model: 'no-such-embedder', input: 'hello' });
      const problem = await expectProblem(unknown, 400, 'unknown_model', { field: 'body.model' });
      expect(problem.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
      expect(embeddingCalls(stack)).toBe(calls);
    });

    it('bad input is a 400 naming the field, before any provider call or telemetry row', async () => {
      const stack = use();
      await stack.services.telemetry.flush();
      const count = async () =>
        (
          await stack.database.db.query<{ n: number }>(
            'select count(*)::int as n from ai_training_examples',
          )
        ).rows[0]!.n;
      const before = await count();
      const calls = embeddingCalls(stack);
      const cases: Array<[unknown, string]> = [
        [{ model: 'default', input: '' }, 'body.input'],
        [{ model: 'default', input: [] }, 'body.input'],
        [{ model: 'default', input: [1, 2, 3] }, 'body.input'],
        [{ model: 'default', input: Array.from({ length: 2049 }, () => 'x') }, 'body.input'],
        [{ model: 'default', input: 'x', dimensions: 0 }, 'body.dimensions'],
        [{ model: 'default', input: 'x', dimensions: 5000 }, 'body.dimensions'],
        // text-embedding-3-small, the default, gives at most 1536.
        [{ model: 'default', input: 'x', dimensions: 1537 }, 'body.dimensions'],
        [{ model: 'openai/text-embedding-ada-002', input: 'x', dimensions: 8 }, 'body.dimensions'],
        [{ model: 'default', input: 'x', encoding_format: 'hex' }, 'body.encoding_format'],
        [{ input: 'x' }, 'body.model'],
        [{ model: 'default', input: 'nul \u0000 byte' }, 'body.input'],
      ];
      for (const [body, field] of cases) {
        const response = await post(stack, body);
        expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        const problem = (await response.json()) as { errors: Array<{ field: string }> };
        expect(problem.errors[0]?.field, JSON.stringify(body).slice(0, 80)).toBe(field);
      }
      expect((await post(stack, '{"model": "default", "input": ')).status).toBe(400);
      await stack.services.telemetry.flush();
      expect(await count()).toBe(before);
      expect(embeddingCalls(stack)).toBe(calls);
    });

    it('an API key works; no token or a wrong key is 401', async () => {
      const stack = use();
      const openai = await gatewayClient(stack, API_KEY);
      const answer = await openai.embeddings.create({ model: 'default', input: 'hello' });
      expect(answer.data).toHaveLength(1);
      const wrong = await gatewayClient(stack, 'gl_wrong_key_that_is_long_enough_000000000');
      expect(
        ((await rejectionOf(wrong.embeddings.create({ model: 'default', input: 'x' }))) as APIError)
          .status,
      ).toBe(401);
      const anonymous = await stack.app.request('/v1/embeddings', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', input: 'x' }),
      });
      expect(anonymous.status).toBe(401);
    });

    it('is held to the budget: reserved and settled at its cost, refused with 402 when spent', async () => {
      const stack = use();
      const userId = randomUUID();
      await upsertUserLimit(stack.database.db, { userId, limitUsd: 0.001, period: 'day' });
      stack.services.budgets.invalidate();
      const openai = await gatewayClient(stack, await stack.token(userId));
      const { response } = await openai.embeddings
        .create({ model: 'default', input: 'Name a lake of Tasmania' })
        .withResponse();
      const requestId = response.headers.get('x-request-id')!;
      const row = await trainingRow(stack, requestId);
      const { rows: ledger } = await stack.database.db.query<{
        kind: string;
        cost_usd: number | null;
      }>('select kind, cost_usd from budget_ledger where user_id = $1 order by id', [userId]);
      expect(ledger.map((entry) => entry.kind)).toEqual(['reserve', 'settle']);
      expect(Number(ledger[1]!.cost_usd)).toBeCloseTo(Number(row.cost_usd), 6);

      const calls = embeddingCalls(stack);
      // Over a million characters at the highest input price cannot fit in $0.001.
      const error = (await rejectionOf(
        openai.embeddings.create({
          model: 'default',
          input: Array.from({ length: 2_000 }, () => 'x'.repeat(400)),
        }),
      )) as APIError;
      expect(error.status).toBe(402);
      expect(error.code).toBe('budget_exceeded');
      expect(embeddingCalls(stack)).toBe(calls);
    });
  },
  { GENLOOP_API_KEYS: API_KEY },
);
