import Replicate from 'replicate';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { rejectionOf } from '../helpers/errors.ts';

type Prediction = Awaited<ReturnType<Replicate['predictions']['get']>>;

/** The SDK's ApiError (a type only in its typings): an Error carrying the failed response. */
function apiErrorStatus(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'ApiError') return undefined;
  return (error as Error & { response: Response }).response.status;
}

let simulator: Simulator;
let replicate: Replicate;

beforeAll(async () => {
  simulator = await startSimulator();
  replicate = new Replicate({ auth: 'sim', baseUrl: simulator.baseUrls.replicate });
});
afterAll(() => simulator.close());
beforeEach(() => simulator.reset());

const MODEL = 'black-forest-labs/flux-schnell';

/** Polls through the SDK until the prediction is terminal (bounded by the test timeout). */
async function settle(prediction: Prediction): Promise<Prediction> {
  let current = prediction;
  while (!['succeeded', 'failed', 'canceled'].includes(current.status)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    current = await replicate.predictions.get(current.id);
  }
  return current;
}

async function fetchImage(url: string) {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    contentType: response.headers.get('content-type'),
    bytes,
    metadata: await sharp(bytes).metadata(),
  };
}

describe('replicate predictions through the official SDK', () => {
  it('creates (starting), then succeeds with PNG outputs of the requested size', async () => {
    const created = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'a sunlit Queenslander veranda', width: 640, height: 480, num_outputs: 2 },
    });
    expect(created.status).toBe('starting');
    expect(created.model).toBe(MODEL);
    expect(created.version).toMatch(/^[0-9a-f]{64}$/);
    expect(created.urls.get).toBe(`${simulator.baseUrls.replicate}/predictions/${created.id}`);
    expect(created.output).toBeNull();

    const done = await settle(created);
    expect(done.status).toBe('succeeded');
    expect(done.error).toBeNull();
    expect(done.started_at).toBeTruthy();
    expect(done.completed_at).toBeTruthy();
    expect(done.metrics?.predict_time).toBeGreaterThanOrEqual(0);
    expect(done.logs).toContain('Using seed:');
    const output = done.output as string[];
    expect(output).toHaveLength(2);
    expect(output[0]).toBe(`${simulator.url}/replicate/files/${done.id}/0.png`);
    for (const url of output) {
      const image = await fetchImage(url);
      expect(image.contentType).toBe('image/png');
      expect(image.metadata).toMatchObject({ format: 'png', width: 640, height: 480 });
    }
  });

  it('derives the size from aspect_ratio and serves WebP when asked', async () => {
    const created = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'a Scandinavian living room', aspect_ratio: '16:9', output_format: 'webp' },
    });
    const done = await settle(created);
    const [url] = done.output as string[];
    const image = await fetchImage(url!);
    expect(image.contentType).toBe('image/webp');
    expect(image.metadata.format).toBe('webp');
    expect(image.metadata.width! / image.metadata.height!).toBeCloseTo(16 / 9, 1);
  });

  it('renders the same image for the same input, another for another prompt', async () => {
    const input = { prompt: 'a coastal kitchen', width: 128, height: 128 };
    const [one, two, three] = await Promise.all([
      replicate.predictions.create({ model: MODEL, input }).then(settle),
      replicate.predictions.create({ model: MODEL, input }).then(settle),
      replicate.predictions
        .create({ model: MODEL, input: { ...input, prompt: 'a desert bedroom' } })
        .then(settle),
    ]);
    const bytes = async (prediction: Prediction) =>
      (await fetchImage((prediction.output as string[])[0]!)).bytes;
    expect((await bytes(one)).equals(await bytes(two))).toBe(true);
    expect((await bytes(one)).equals(await bytes(three))).toBe(false);
  });

  it('creates by version too, and records the body the SDK sent', async () => {
    const version = 'a'.repeat(64);
    const created = await replicate.predictions.create({
      version,
      input: { prompt: 'x', width: 64, height: 64 },
      webhook: 'https://example.com/hook',
      webhook_events_filter: ['completed'],
    });
    expect(created.version).toBe(version);
    const [recorded] = simulator.requests({ provider: 'replicate', method: 'POST' });
    expect(recorded?.path).toBe('/replicate/v1/predictions');
    expect(recorded?.headers.authorization).toBe('Bearer sim');
    expect(recorded?.body).toEqual({
      version,
      input: { prompt: 'x', width: 64, height: 64 },
      webhook: 'https://example.com/hook',
      webhook_events_filter: ['completed'],
    });
    expect(simulator.stats().predictionsCreated).toBe(1);
  });

  it('waits for the result with Prefer: wait', async () => {
    const prediction = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'a tiny house', width: 64, height: 64 },
      wait: 30,
    });
    expect(prediction.status).toBe('succeeded');
    const [recorded] = simulator.requests({ provider: 'replicate', method: 'POST' });
    expect(recorded?.headers.prefer).toBe('wait=30');
  });

  it('replicate.run blocks until done and returns the output URLs', async () => {
    const output = (await replicate.run(MODEL, {
      input: { prompt: 'a loft', width: 96, height: 64, output_format: 'jpg' },
    })) as unknown as string[];
    // The SDK wraps only https: URLs as FileOutput; the simulator's are http:.
    expect(output).toHaveLength(1);
    const image = await fetchImage(output[0]!);
    expect(image.metadata).toMatchObject({ format: 'jpeg', width: 96, height: 64 });
  });

  it('cancels a running prediction; canceling again changes nothing', async () => {
    // A prediction that stays processing, chosen per model in the config.
    simulator.setFaults({ [`replicate/${MODEL}`]: 'hang' });
    const hanging = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'hangs', width: 64, height: 64 },
    });
    simulator.setFaults({});
    const canceled = await replicate.predictions.cancel(hanging.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.completed_at).toBeTruthy();
    const again = await replicate.predictions.cancel(hanging.id);
    expect(again.status).toBe('canceled');
    expect((await replicate.predictions.get(hanging.id)).status).toBe('canceled');
    expect(simulator.stats().predictionsCanceled).toBe(1);
  });

  it('hang keeps a prediction processing', async () => {
    simulator.setFaults({ replicate: 'hang' });
    const created = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'stuck', width: 64, height: 64 },
    });
    simulator.setFaults({});
    const seen = await (async () => {
      let current = created;
      while (current.status === 'starting') current = await replicate.predictions.get(created.id);
      return current;
    })();
    expect(seen.status).toBe('processing');
    expect(seen.output).toBeNull();
    await replicate.predictions.cancel(created.id);
  });

  it('fail ends the prediction failed with an error and logs', async () => {
    simulator.setFaults({ replicate: 'fail' });
    const created = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'boom', width: 64, height: 64 },
    });
    simulator.setFaults({});
    const done = await settle(created);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/simulated/);
    expect(done.output).toBeNull();
    expect(done.logs).toContain('Traceback');
  });

  it('refuse fails the prediction with an NSFW error', async () => {
    simulator.setFaults({ replicate: 'refuse' });
    const created = await replicate.predictions.create({
      model: MODEL,
      input: { prompt: 'x', width: 64, height: 64 },
    });
    simulator.setFaults({});
    expect((await settle(created)).error).toMatch(/NSFW/);
  });

  it('error:503 on create → ApiError, and no prediction is created', async () => {
    simulator.setFaults({ replicate: 'error:503' });
    const error = await rejectionOf(
      replicate.predictions.create({ model: MODEL, input: { prompt: 'x' } }),
    );
    simulator.setFaults({});
    expect(apiErrorStatus(error)).toBe(503);
    expect(simulator.stats().predictionsCreated).toBe(0);
  });

  it('reset-after-create → the caller sees a network error, yet the prediction exists', async () => {
    const response = await fetch(`${simulator.baseUrls.replicate}/predictions`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sim',
        'content-type': 'application/json',
        'x-genloop-simulate': 'replicate=reset-after-create',
      },
      body: JSON.stringify({
        version: 'b'.repeat(64),
        input: { prompt: 'lost answer', width: 64, height: 64 },
      }),
    }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    expect(response).toBeInstanceOf(TypeError);
    expect(simulator.stats().predictionsCreated).toBe(1);
    const page = await replicate.predictions.list();
    expect(
      page.results.filter(
        (prediction) => (prediction.input as { prompt?: string }).prompt === 'lost answer',
      ),
    ).toHaveLength(1);
  });

  it('the replicate SDK itself retries a create whose answer was lost: each retry is a new prediction', async () => {
    // Why genloop owns its retries and stores the prediction id first: a crash after Replicate
    // accepted a create must not make the rerun pay for a second prediction.
    simulator.setFaults({ replicate: 'reset-after-create' });
    const error = await rejectionOf(
      replicate.predictions.create({ model: MODEL, input: { prompt: 'x', width: 64, height: 64 } }),
    );
    simulator.setFaults({});
    expect(error).toBeInstanceOf(TypeError);
    expect(apiErrorStatus(error)).toBeUndefined();
    expect(simulator.stats().predictionsCreated).toBeGreaterThan(1);
  });

  it('rejects invalid input with 422 naming the fields, creating nothing', async () => {
    const error = await rejectionOf(
      replicate.predictions.create({
        model: MODEL,
        input: { prompt: 'x', num_outputs: 5, output_format: 'gif' },
      }),
    );
    expect(apiErrorStatus(error)).toBe(422);
    expect((error as Error).message).toContain('input.num_outputs');
    expect((error as Error).message).toContain('input.output_format');
    expect(simulator.stats().predictionsCreated).toBe(0);
  });

  it('answers an unknown prediction 404 and a missing token 401', async () => {
    const error = await rejectionOf(replicate.predictions.get('doesnotexist'));
    expect(apiErrorStatus(error)).toBe(404);
    const response = await fetch(`${simulator.baseUrls.replicate}/predictions`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(401);
  });

  it('serves the default webhook secret', async () => {
    const secret = await replicate.webhooks.default.secret.get();
    expect(secret.key).toBe(simulator.webhookSecret);
  });
});
