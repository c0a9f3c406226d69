import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.ts';
import { ReplicateClient } from '../../src/providers/replicate/client.ts';
import { createMayHaveHappened } from '../../src/providers/replicate/errors.ts';
import type { Prediction } from '../../src/providers/replicate/prediction.ts';
import { ASPECT_RATIOS, QUALITIES } from '../../src/recipes/interior/catalog.ts';
import { dimensionsFor, toReplicateInput } from '../../src/recipes/interior/replicate-input.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { rejectionOf } from '../helpers/errors.ts';
import { eventually } from '../helpers/stack.ts';

/**
 * The Replicate client through the official replicate SDK against the simulator's Replicate
 * protocol: what the adapter maps is what the model makes, and failures become ProviderErrors
 * without the SDK's own retries.
 */
describe('replicate client (SDK) against the simulator', () => {
  let simulator: Simulator;
  let client: ReplicateClient;
  const call = { timeoutMs: 10_000 };

  beforeAll(async () => {
    simulator = await startSimulator({ host: '127.0.0.1', port: 0 });
    client = new ReplicateClient({
      token: 'simulator',
      baseUrl: `${simulator.url}/replicate/v1`,
      servedBy: 'simulator',
    });
  });
  afterAll(() => simulator.close());

  const finished = (id: string) =>
    eventually(async () => {
      const prediction = await client.get(id, call);
      return prediction.status === 'succeeded' ? prediction : undefined;
    });

  async function outputSizes(prediction: Prediction) {
    const urls = prediction.output as string[];
    return Promise.all(
      urls.map(async (url) => {
        const meta = await sharp(Buffer.from(await (await fetch(url)).arrayBuffer())).metadata();
        return [meta.width, meta.height];
      }),
    );
  }

  const base = {
    mode: 'imagine' as const,
    prompt: 'a calm bedroom',
    aspectRatio: '1:1' as const,
    quality: 'draft' as const,
    variants: 1,
    imageUrls: [],
  };

  it('every aspect ratio at every quality makes images of the mapped size', async () => {
    const predictions = [];
    for (const aspectRatio of ASPECT_RATIOS) {
      for (const quality of QUALITIES) {
        const created = await client.create(
          {
            model: 'black-forest-labs/flux-dev',
            input: toReplicateInput({ ...base, aspectRatio, quality }),
          },
          call,
        );
        expect(created.status).toBe('starting');
        predictions.push({ aspectRatio, quality, id: created.id });
      }
    }
    for (const { aspectRatio, quality, id } of predictions) {
      const { width, height } = dimensionsFor(aspectRatio, quality);
      expect(await outputSizes(await finished(id)), `${aspectRatio} ${quality}`).toEqual([
        [width, height],
      ]);
    }
  });

  it('variants become num_outputs: 1 to 4 images', async () => {
    for (const variants of [1, 2, 3, 4]) {
      const created = await client.create(
        { model: 'black-forest-labs/flux-dev', input: toReplicateInput({ ...base, variants }) },
        call,
      );
      const done = await finished(created.id);
      expect(done.output).toHaveLength(variants);
    }
    const sent = simulator.requests({ provider: 'replicate', method: 'POST' }).at(-1)!;
    expect((sent.body as { input: { num_outputs: number } }).input.num_outputs).toBe(4);
  });

  it('a pinned version goes to POST /predictions, a model name to the models endpoint', async () => {
    await client.create({ model: 'stability-ai/sdxl:abc123', input: { prompt: 'x' } }, call);
    await client.create({ model: 'black-forest-labs/flux-schnell', input: { prompt: 'x' } }, call);
    const [pinned, named] = simulator.requests({ provider: 'replicate', method: 'POST' }).slice(-2);
    expect(pinned!.path).toMatch(/\/replicate\/v1\/predictions$/);
    expect((pinned!.body as { version: string }).version).toBe('stability-ai/sdxl:abc123');
    expect(named!.path).toMatch(/\/models\/black-forest-labs\/flux-schnell\/predictions$/);
  });

  it('cancel stops a running prediction', async () => {
    const created = await client.create(
      { model: 'black-forest-labs/flux-dev', input: { prompt: 'x' } },
      { ...call, headers: { 'x-genloop-simulate': 'replicate=hang' } },
    );
    const canceled = await client.cancel(created.id, call);
    expect(canceled.status).toBe('canceled');
    expect((await client.get(created.id, call)).status).toBe('canceled');
  });

  it('the webhook secret comes from webhooks/default/secret', async () => {
    expect(await client.defaultWebhookSecret(call)).toBe(simulator.webhookSecret);
  });

  async function failure(fault: string): Promise<ProviderError> {
    const error = await rejectionOf(
      client.create(
        { model: 'black-forest-labs/flux-dev', input: { prompt: 'x' } },
        { ...call, headers: { 'x-genloop-simulate': `replicate=${fault}` } },
      ),
    );
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }

  it('errors are classified once, and the SDK does not retry on its own', async () => {
    const before = simulator.requests({ provider: 'replicate', method: 'POST' }).length;
    const limited = await failure('error:429:3');
    expect(limited).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3_000 });
    expect(createMayHaveHappened(limited)).toBe(false);
    const server = await failure('error:503');
    expect(server).toMatchObject({ status: 503, retryable: true });
    expect(createMayHaveHappened(server)).toBe(true);
    const invalid = await failure('error:422');
    expect(invalid).toMatchObject({ status: 422, retryable: false });
    expect(createMayHaveHappened(invalid)).toBe(false);
    // One request per call: the SDK's automatic retries of 429 and 5xx never reached the wire.
    expect(simulator.requests({ provider: 'replicate', method: 'POST' }).length - before).toBe(3);
  });

  it('a connection cut after the create is ambiguous and creates exactly one prediction', async () => {
    const before = simulator.stats().predictionsCreated;
    const cut = await failure('reset-after-create');
    expect(cut.errorClass).toBe('network');
    expect(createMayHaveHappened(cut)).toBe(true);
    expect(simulator.stats().predictionsCreated - before).toBe(1);
  });

  it('a call that does not answer in time is a timeout error', async () => {
    const stalled = new ReplicateClient({
      token: 'simulator',
      baseUrl: `${simulator.url}/replicate/v1`,
      servedBy: 'simulator',
      // Never answers; only the abort signal ends it.
      fetch: ((_input: unknown, init?: RequestInit) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        })) as typeof fetch,
    });
    const error = await rejectionOf(stalled.get('p_1', { timeoutMs: 50 }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ errorClass: 'timeout', retryable: true });
    expect(createMayHaveHappened(error as ProviderError)).toBe(true);
    // The caller going away is not a timeout.
    const controller = new AbortController();
    const pending = stalled.get('p_1', { timeoutMs: 10_000, signal: controller.signal });
    controller.abort(new Error('client left'));
    expect(await rejectionOf(pending)).toMatchObject({ errorClass: 'canceled', retryable: false });
  });

  it('a token is required', () => {
    expect(() => new ReplicateClient({ token: '', servedBy: 'api' })).toThrow(TypeError);
  });
});
