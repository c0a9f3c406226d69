import OpenAI, { type APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cosineDistance } from '../../src/simulator/embeddings/vectors.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { rejectionOf } from '../helpers/errors.ts';

let simulator: Simulator;
const clients: Record<'openai' | 'openrouter' | 'custom', OpenAI> = {} as never;

beforeAll(async () => {
  simulator = await startSimulator();
  for (const provider of ['openai', 'openrouter', 'custom'] as const) {
    clients[provider] = new OpenAI({
      apiKey: 'sim',
      baseURL: simulator.baseUrls[provider],
      maxRetries: 0,
      logLevel: 'off',
    });
  }
});
afterAll(() => simulator.close());
beforeEach(() => simulator.reset());

describe('embeddings on every OpenAI-compatible prefix, through the official SDK', () => {
  for (const provider of ['openai', 'openrouter', 'custom'] as const) {
    it(`${provider}: one unit vector per input, in order, with usage`, async () => {
      const { data, response } = await clients[provider].embeddings
        .create({
          model: 'text-embedding-3-small',
          input: ['Make flashcards from my notes', 'Redesign my kitchen'],
        })
        .withResponse();
      expect(data.object).toBe('list');
      expect(data.model).toBe('text-embedding-3-small');
      expect(data.data.map((item) => item.index)).toEqual([0, 1]);
      for (const item of data.data) {
        expect(item.object).toBe('embedding');
        expect(item.embedding).toHaveLength(1536);
        expect(Math.hypot(...item.embedding)).toBeCloseTo(1, 5);
      }
      const tokens =
        Math.ceil('Make flashcards from my notes'.length / 4) +
        Math.ceil('Redesign my kitchen'.length / 4);
      expect(data.usage).toMatchObject({ prompt_tokens: tokens, total_tokens: tokens });
      if (provider === 'openrouter') {
        expect((data.usage as { cost?: number }).cost).toBeCloseTo((tokens * 0.02) / 1e6, 12);
      }
      expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
      expect(simulator.stats().embeddings).toBe(1);
    });
  }

  it('honours dimensions, and floats and base64 carry the same vector', async () => {
    const input = 'A cosy Scandinavian bedroom';
    const floats = await clients.openai.embeddings.create({
      model: 'text-embedding-3-small',
      input,
      dimensions: 256,
      encoding_format: 'float',
    });
    // The SDK asks for base64 when no format is given, and decodes it into floats itself.
    const decoded = await clients.openai.embeddings.create({
      model: 'text-embedding-3-small',
      input,
      dimensions: 256,
    });
    expect(floats.data[0]?.embedding).toHaveLength(256);
    const a = floats.data[0]!.embedding;
    const b = decoded.data[0]!.embedding;
    expect(b).toHaveLength(256);
    for (let index = 0; index < a.length; index++) expect(b[index]).toBeCloseTo(a[index]!, 6);
    const raw = await fetch(`${simulator.baseUrls.openai}/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer sim', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', input, encoding_format: 'base64', dimensions: 8 }),
    });
    const body = (await raw.json()) as { data: Array<{ embedding: string }> };
    expect(Buffer.from(body.data[0]!.embedding, 'base64')).toHaveLength(8 * 4);
  });

  it('is deterministic, and paraphrases are near where unrelated texts are far', async () => {
    const embed = async (input: string[]) =>
      (
        await clients.openai.embeddings.create({
          model: 'text-embedding-3-small',
          input,
          dimensions: 256,
        })
      ).data.map((item) => item.embedding);
    const [a, b, c] = await embed([
      'How do I create flash cards from my notes?',
      'How can I make flashcards from my notes',
      'Give my living room an industrial look',
    ]);
    const [again] = await embed(['How do I create flash cards from my notes?']);
    expect(again).toEqual(a);
    expect(cosineDistance(a!, b!)).toBeLessThan(0.1);
    expect(cosineDistance(a!, c!)).toBeGreaterThan(0.5);
  });

  it('refuses what OpenAI refuses, with a 400 naming the parameter', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ model: 'text-embedding-3-small', input: '' }, 'input'],
      [{ model: 'text-embedding-3-small', input: [] }, 'input'],
      [{ model: 'text-embedding-3-small', input: [{ text: 'x' }] }, 'input'],
      [{ model: 'text-embedding-3-small', input: 'x', dimensions: 4000 }, 'dimensions'],
      [{ model: 'text-embedding-ada-002', input: 'x', dimensions: 256 }, 'dimensions'],
      [{ model: 'text-embedding-3-small', input: 'x', encoding_format: 'hex' }, 'encoding_format'],
      [{ input: 'x' }, 'model'],
    ];
    for (const [body, param] of cases) {
      const error = (await rejectionOf(
        clients.openai.embeddings.create(body as never),
      )) as APIError;
      expect(error.status, JSON.stringify(body)).toBe(400);
      expect((error.error as { param?: string }).param).toBe(param);
    }
    expect(simulator.stats().embeddings).toBe(0);
  });

  it('injects faults as for chat: an error status with Retry-After, or a slow answer', async () => {
    const failing = (await rejectionOf(
      clients.openai.embeddings.create(
        { model: 'text-embedding-3-small', input: 'x' },
        { headers: { 'x-genloop-simulate': 'openai=error:429:2' } },
      ),
    )) as APIError;
    expect(failing.status).toBe(429);
    expect(failing.headers?.get('retry-after')).toBe('2');
    const started = performance.now();
    await clients.custom.embeddings.create(
      { model: 'nomic-embed-text', input: 'x' },
      { headers: { 'x-genloop-simulate': 'custom=slow:150' } },
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});
