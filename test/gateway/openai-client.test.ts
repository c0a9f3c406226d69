import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { describeEachStack, eventually } from '../helpers/stack.ts';

const API_KEY = 'gl_test_key_that_is_long_enough_0123456789';

describeEachStack(
  'the official openai client against /v1/chat/completions',
  (use) => {
    it('JSON completion with the routing headers and one telemetry row', async () => {
      const stack = use();
      const openai = await gatewayClient(stack);
      const { data, response } = await openai.chat.completions
        .create({
          model: 'default',
          messages: [{ role: 'user', content: 'Name three Australian birds' }],
        })
        .withResponse();
      expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0);
      expect(data.usage?.total_tokens).toBeGreaterThan(0);
      expect(response.headers.get('x-genloop-selected-provider')).toBe('openai');
      expect(response.headers.get('x-genloop-route-strategy')).toBe('fallback');
      expect(response.headers.get('x-genloop-fallback-used')).toBe('false');
      expect(response.headers.get('server-timing')).toMatch(/provider;dur=/);
      const requestId = response.headers.get('x-request-id')!;
      const row = await eventually(async () => {
        await stack.services.telemetry.flush();
        return (
          await stack.database.db.query(
            'select * from ai_training_examples where request_id = $1',
            [requestId],
          )
        ).rows[0];
      });
      expect(row).toMatchObject({
        recipe: 'gateway',
        status: 'succeeded',
        selected_provider: 'openai',
      });
    });

    it('streaming, including the final usage chunk', async () => {
      const openai = await gatewayClient(use());
      const stream = await openai.chat.completions.create({
        model: 'default',
        stream: true,
        messages: [{ role: 'user', content: 'Write a haiku about Hobart' }],
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text.length).toBeGreaterThan(0);
    });

    it('streaming falls back before the first byte', async () => {
      const stack = use();
      const openai = await gatewayClient(stack, undefined, {
        'x-genloop-simulate': 'openai=error:503',
      });
      const { data: stream, response } = await openai.chat.completions
        .create({ model: 'default', stream: true, messages: [{ role: 'user', content: 'hello' }] })
        .withResponse();
      expect(response.headers.get('x-genloop-selected-provider')).toBe('custom');
      expect(response.headers.get('x-genloop-fallback-used')).toBe('true');
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text.length).toBeGreaterThan(0);
    });

    it('a cut after the first byte ends the stream with an explicit error', async () => {
      const stack = use();
      const openai = await gatewayClient(stack, undefined, {
        'x-genloop-simulate': 'openai=stream-cut:2',
      });
      const { data: stream, response } = await openai.chat.completions
        .create({
          model: 'default',
          stream: true,
          messages: [{ role: 'user', content: 'a long story please' }],
        })
        .withResponse();
      const chunks: unknown[] = [];
      const failure = await (async () => {
        for await (const chunk of stream) chunks.push(chunk);
      })().catch((caught: unknown) => caught);
      expect(chunks.length).toBeGreaterThan(0);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      const requestId = response.headers.get('x-request-id')!;
      const row = await eventually(async () => {
        await stack.services.telemetry.flush();
        return (
          await stack.database.db.query(
            'select status, error from ai_training_examples where request_id = $1',
            [requestId],
          )
        ).rows[0];
      });
      expect(row).toMatchObject({ status: 'failed' });
    });

    it('an API key works; a wrong one is 401', async () => {
      const stack = use();
      const good = await gatewayClient(stack, API_KEY);
      const completion = await good.chat.completions.create({
        model: 'default',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(completion.object).toBe('chat.completion');
      const bad = await gatewayClient(stack, 'gl_wrong_key_that_is_long_enough_0000000');
      await expect(
        bad.chat.completions.create({
          model: 'default',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ).rejects.toMatchObject({
        status: 401,
        type: 'authentication_error',
      });
    });

    it('models: default, provider/model pins, unknown model 400, malformed request 400', async () => {
      const stack = use();
      const openai = await gatewayClient(stack);
      const models = await openai.models.list();
      expect(models.data.map((model) => model.id)).toContain('default');
      const pinned = await openai.chat.completions
        .create({ model: 'custom/llama-3', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(pinned.response.headers.get('x-genloop-selected-provider')).toBe('custom');
      await expect(
        openai.chat.completions.create({
          model: 'no-such-model',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ).rejects.toMatchObject({ status: 400 });
      const token = await stack.token();
      const malformed = await stack.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', messages: [] }),
      });
      expect(malformed.status).toBe(400);
    });

    it('bad parameters are a 400 naming the field, before any provider call or telemetry row', async () => {
      const stack = use();
      const token = await stack.token();
      const messages = [{ role: 'user', content: 'hi' }];
      await stack.services.telemetry.flush();
      const count = async () => {
        await stack.services.telemetry.flush();
        const { rows } = await stack.database.db.query<{ n: number }>(
          'select count(*)::int as n from ai_training_examples',
        );
        return rows[0]!.n;
      };
      const rowsBefore = await count();
      const callsBefore = stack.simulator.requests({ path: /chat\/completions/ }).length;
      for (const [extra, field] of [
        [{ temperature: 'hot' }, 'body.temperature'],
        [{ temperature: 3 }, 'body.temperature'],
        [{ top_p: -0.1 }, 'body.top_p'],
        [{ n: 0 }, 'body.n'],
        [{ n: 1.5 }, 'body.n'],
        [{ max_tokens: -1 }, 'body.max_tokens'],
        [{ max_completion_tokens: 0 }, 'body.max_completion_tokens'],
        [{ presence_penalty: 2.5 }, 'body.presence_penalty'],
        [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'body.stop'],
        [{ stream_options: 'yes' }, 'body.stream_options'],
        [{ model: 'openai/' }, 'body.model'],
      ] as const) {
        const response = await stack.app.request('/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'default', messages, ...extra }),
        });
        expect(response.status, JSON.stringify(extra)).toBe(400);
        const problem = (await response.json()) as {
          code: string;
          errors: Array<{ field: string }>;
          error: { message: string; type: string; param: string | null; code: string };
        };
        expect(
          problem.errors.map((error) => error.field),
          JSON.stringify(extra),
        ).toContain(field);
        // The same error in OpenAI's shape, for OpenAI SDKs.
        expect(problem.error).toMatchObject({
          type: 'invalid_request_error',
          param: problem.errors[0]!.field.replace(/^body\./, ''),
          code: problem.code,
        });
        expect(problem.error.message.length).toBeGreaterThan(0);
      }
      // Through the SDK, the error says what is wrong and where.
      const viaSdk = await (await gatewayClient(stack)).chat.completions
        .create({ model: 'default', messages: [{ role: 'user', content: 'hi' }], temperature: 5 })
        .catch((error: unknown) => error);
      expect(viaSdk).toBeInstanceOf(OpenAI.BadRequestError);
      expect(viaSdk).toMatchObject({
        status: 400,
        param: 'temperature',
        code: 'validation_failed',
        type: 'invalid_request_error',
      });
      expect((viaSdk as Error).message).toContain('temperature');
      // Refusals before the route (the body limit here) carry it too.
      const oversized = await stack.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'default',
          messages: [{ role: 'user', content: 'x'.repeat(stack.config.bodyLimitBytes) }],
        }),
      });
      expect(oversized.status).toBe(413);
      expect(await oversized.json()).toMatchObject({
        code: 'payload_too_large',
        error: { type: 'invalid_request_error', code: 'payload_too_large', param: null },
      });
      // null is what the OpenAI SDKs send for "not set"; unknown fields pass through.
      const accepted = await stack.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'default',
          messages,
          temperature: null,
          n: 1,
          stop: 'END',
          logit_bias: { '50256': -100 },
        }),
      });
      expect(accepted.status).toBe(200);
      expect(stack.simulator.requests({ path: /chat\/completions/ }).length).toBe(callsBefore + 1);
      expect(await count()).toBe(rowsBefore + 1);
    });
  },
  { GENLOOP_API_KEYS: API_KEY },
);
