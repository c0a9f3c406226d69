import OpenAI, { type APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { rejectionOf } from '../helpers/errors.ts';

let simulator: Simulator;
let openai: OpenAI;

beforeAll(async () => {
  simulator = await startSimulator();
  openai = new OpenAI({
    apiKey: 'sim',
    baseURL: simulator.baseUrls.openai,
    maxRetries: 0,
    logLevel: 'off',
  });
});
afterAll(() => simulator.close());
beforeEach(() => simulator.reset());

const messages = [
  { role: 'system' as const, content: 'You are helpful.' },
  { role: 'user' as const, content: 'How do solar panels and home batteries work together?' },
];

describe('openai chat completions through the official SDK', () => {
  it('answers JSON with usage, the model echoed and an x-request-id', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe('gpt-4o-mini');
    expect(Number.isInteger(data.created)).toBe(true);
    const content = data.choices[0]?.message.content ?? '';
    expect(content.toLowerCase()).toContain('solar');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBe(Math.ceil(content.length / 4));
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('gives the same answer to the same request', async () => {
    const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const second = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(second.usage).toEqual(first.usage);
    expect(second.id).not.toBe(first.id);
  });

  it('streams SSE chunks whose deltas add up to the JSON answer, then a usage chunk', async () => {
    const json = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(json.choices[0]?.message.content);
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(json.usage);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('sends no usage chunk without stream_options.include_usage', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.usage === undefined || chunk.usage === null)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('cuts at max_tokens with finish_reason length', async () => {
    const data = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      max_tokens: 5,
    });
    expect(data.choices[0]?.finish_reason).toBe('length');
    expect(data.usage?.completion_tokens).toBe(5);
    expect(data.choices[0]?.message.content?.length).toBeLessThanOrEqual(20);
  });

  it('lists models', async () => {
    const page = await openai.models.list();
    expect(page.data.map((model) => model.id)).toContain('gpt-4o-mini');
  });

  it('records the request body the SDK sent, with the fault header', async () => {
    await openai.chat.completions.create(
      { model: 'gpt-4o', messages, temperature: 0.2 },
      { headers: { 'x-genloop-simulate': 'openai=ok' } },
    );
    const [recorded] = simulator.requests({
      provider: 'openai',
      path: '/openai/v1/chat/completions',
    });
    expect(recorded?.method).toBe('POST');
    expect(recorded?.body).toEqual({ model: 'gpt-4o', messages, temperature: 0.2 });
    expect(recorded?.headers.authorization).toBe('Bearer sim');
    expect(recorded?.headers['x-genloop-simulate']).toBe('openai=ok');
    expect(simulator.stats().chatCompletions).toBe(1);
    simulator.reset();
    expect(simulator.requests()).toEqual([]);
    expect(simulator.stats().chatCompletions).toBe(0);
  });

  it('answers a request without a model 400 in OpenAI error shape', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({
        messages,
      } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'model',
    });
  });

  it('answers empty messages 400 naming the parameter', async () => {
    const error = await rejectionOf(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).code).toBe('empty_array');
  });

  it('answers a call without an API key 401', async () => {
    const response = await fetch(`${simulator.baseUrls.openai}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('answers a body that is not JSON 400', async () => {
    const response = await fetch(`${simulator.baseUrls.openai}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sim' },
      body: '{"model": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('openrouter and custom prefixes speak the same protocol', () => {
  it('openrouter: accepts attribution headers, reports usage.cost and a gen- id', async () => {
    const client = new OpenAI({
      apiKey: 'sim',
      baseURL: simulator.baseUrls.openrouter,
      maxRetries: 0,
      defaultHeaders: { 'HTTP-Referer': 'https://app.example', 'X-Title': 'genloop tests' },
    });
    const data = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages });
    expect(data.id).toMatch(/^gen-/);
    expect(data.model).toBe('openai/gpt-4o-mini');
    const cost = (data.usage as { cost?: number } | undefined)?.cost;
    expect(cost).toBeGreaterThan(0);
    const [recorded] = simulator.requests({ provider: 'openrouter' });
    expect(recorded?.path).toBe('/openrouter/api/v1/chat/completions');
    expect(recorded?.headers['http-referer']).toBe('https://app.example');
    expect(recorded?.headers['x-title']).toBe('genloop tests');
  });

  it('openrouter: errors carry a numeric code, as OpenRouter sends them', async () => {
    const client = new OpenAI({
      apiKey: 'sim',
      baseURL: simulator.baseUrls.openrouter,
      maxRetries: 0,
    });
    const error = await rejectionOf(
      client.chat.completions.create(
        { model: 'openai/gpt-4o-mini', messages },
        { headers: { 'x-genloop-simulate': 'openrouter=error:502' } },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as APIError).status).toBe(502);
    expect((error as APIError).error).toMatchObject({ code: 502 });
  });

  it('custom: streams without an API key, like a local vLLM or Ollama', async () => {
    const response = await fetch(`${simulator.baseUrls.custom}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b-instruct', messages, stream: true }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const client = new OpenAI({
      apiKey: 'not-needed',
      baseURL: simulator.baseUrls.custom,
      maxRetries: 0,
    });
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(0);
  });

  it('serves each provider only under its own prefix', async () => {
    const response = await fetch(`${simulator.url}/anthropic/v1/messages`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(404);
    const health = await fetch(`${simulator.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', providers: simulator.baseUrls });
  });
});
