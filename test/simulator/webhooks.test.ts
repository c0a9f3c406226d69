import Replicate, { validateWebhook } from 'replicate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  type Simulator,
  signWebhook,
  startSimulator,
} from '../../src/simulator/index.ts';
import { eventually, startWebhookReceiver, verifyStandardWebhook } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MODEL = 'black-forest-labs/flux-schnell';
const input = { prompt: 'a bright kitchen', width: 64, height: 64 };

let simulator: Simulator;
let replicate: Replicate;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  simulator = await startSimulator({ webhookSecret: SECRET, webhookRetryDelaysMs: [10, 20, 40] });
  replicate = new Replicate({ auth: 'sim', baseUrl: simulator.baseUrls.replicate });
});
afterAll(() => simulator.close());
afterEach(async () => {
  await simulator.webhooksIdle();
  await receiver?.close();
  simulator.reset();
});

describe('signWebhook', () => {
  it('matches the Standard Webhooks test vector', () => {
    expect(
      signWebhook(SECRET, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('refuses a secret that is not whsec_<base64>, at start too', async () => {
    expect(() => signWebhook('plain-secret', 'msg_1', 1, '{}')).toThrow(/whsec_/);
    await expect(startSimulator({ webhookSecret: 'whsec_***' })).rejects.toThrow(/base64/);
    expect(generateWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
  });
});

describe('replicate webhooks', () => {
  it('sends start and completed, signed per Standard Webhooks', async () => {
    receiver = await startWebhookReceiver();
    const created = await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['start', 'completed'],
    });
    await receiver.waitFor(2);
    await simulator.webhooksIdle();
    expect(receiver.received.map((hook) => hook.json.status)).toEqual(['starting', 'succeeded']);
    const [start, completed] = receiver.received;
    expect(start!.headers['webhook-id']).not.toBe(completed!.headers['webhook-id']);
    expect(completed!.json.id).toBe(created.id);
    expect(completed!.json.output).toEqual([
      `${simulator.url}/replicate/files/${created.id}/0.png`,
    ]);
    for (const hook of receiver.received) {
      expect(hook.headers['content-type']).toBe('application/json');
      expect(hook.headers['webhook-id']).toMatch(/^msg_/);
      expect(verifyStandardWebhook(SECRET, hook.headers, hook.body)).toBe(true);
      expect(verifyStandardWebhook(generateWebhookSecret(), hook.headers, hook.body)).toBe(false);
      expect(verifyStandardWebhook(SECRET, hook.headers, hook.body.replace('"', "'"))).toBe(false);
      // The replicate SDK's own validator agrees.
      await expect(
        validateWebhook({
          id: String(hook.headers['webhook-id']),
          timestamp: String(hook.headers['webhook-timestamp']),
          signature: String(hook.headers['webhook-signature']),
          body: hook.body,
          secret: SECRET,
        }),
      ).resolves.toBe(true);
    }
    expect(receiver.received).toHaveLength(2);
  });

  it('without a filter sends logs, output and completed, in order, with the final state last', async () => {
    receiver = await startWebhookReceiver();
    await replicate.predictions.create({ model: MODEL, input, webhook: receiver.url });
    await eventually(() =>
      receiver.received.some((hook) => hook.json.status === 'succeeded') ? true : undefined,
    );
    await simulator.webhooksIdle();
    const statuses = receiver.received.map((hook) => hook.json.status);
    expect(statuses).toEqual(['processing', 'processing', 'succeeded']);
    expect(receiver.received[1]!.json.output).toHaveLength(1);
  });

  it('duplicate-webhook sends the completed webhook twice with the same webhook-id', async () => {
    receiver = await startWebhookReceiver();
    await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['completed'],
    });
    // The fault is chosen in config here; the header works the same way (see the chat tests).
    await receiver.waitFor(1);
    simulator.setFaults({ replicate: 'duplicate-webhook' });
    await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['completed'],
    });
    simulator.setFaults({});
    await receiver.waitFor(3);
    await simulator.webhooksIdle();
    const [, first, second] = receiver.received;
    expect(first!.headers['webhook-id']).toBe(second!.headers['webhook-id']);
    expect(first!.body).toBe(second!.body);
    expect(verifyStandardWebhook(SECRET, second!.headers, second!.body)).toBe(true);
    expect(receiver.received).toHaveLength(3);
  });

  it('no-webhook completes the prediction but never calls the webhook', async () => {
    receiver = await startWebhookReceiver();
    simulator.setFaults({ replicate: 'no-webhook' });
    const created = await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['start', 'completed'],
    });
    simulator.setFaults({});
    const done = await replicate.wait(created, { interval: 20 });
    expect(done.status).toBe('succeeded');
    await simulator.webhooksIdle();
    expect(receiver.received).toEqual([]);
    expect(simulator.webhookDeliveries()).toEqual([]);
  });

  it('fail sends a completed webhook with status failed and the error', async () => {
    receiver = await startWebhookReceiver();
    simulator.setFaults({ replicate: 'fail' });
    await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['completed'],
    });
    simulator.setFaults({});
    await receiver.waitFor(1);
    expect(receiver.received[0]!.json.status).toBe('failed');
    expect(receiver.received[0]!.json.error).toBeTruthy();
  });

  it('cancel sends the completed webhook with status canceled', async () => {
    receiver = await startWebhookReceiver();
    simulator.setFaults({ replicate: 'hang' });
    const created = await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['completed'],
    });
    simulator.setFaults({});
    await replicate.predictions.cancel(created.id);
    await receiver.waitFor(1);
    expect(receiver.received[0]!.json.status).toBe('canceled');
  });

  it('retries the final webhook on non-2xx with the same webhook-id, freshly signed each time', async () => {
    receiver = await startWebhookReceiver([500, 503, 200]);
    await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['completed'],
    });
    await receiver.waitFor(3);
    await simulator.webhooksIdle();
    expect(new Set(receiver.received.map((hook) => hook.headers['webhook-id'])).size).toBe(1);
    expect(
      receiver.received.every((hook) => verifyStandardWebhook(SECRET, hook.headers, hook.body)),
    ).toBe(true);
    const [delivery] = simulator.webhookDeliveries();
    expect(delivery).toMatchObject({
      event: 'completed',
      attempts: [500, 503, 200],
      outcome: 'delivered',
    });
  });

  it('does not retry non-final webhooks, and gives up on the final one after the configured retries', async () => {
    receiver = await startWebhookReceiver([500]);
    await replicate.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['start', 'completed'],
    });
    await receiver.waitFor(5);
    await simulator.webhooksIdle();
    const deliveries = simulator.webhookDeliveries();
    expect(
      deliveries.map((delivery) => [delivery.event, delivery.attempts.length, delivery.outcome]),
    ).toEqual([
      ['start', 1, 'failed'],
      ['completed', 4, 'failed'],
    ]);
    expect(receiver.received).toHaveLength(5);
  });

  it('close() stops pending webhook retries', async () => {
    const own = await startSimulator({ webhookRetryDelaysMs: [600_000] });
    receiver = await startWebhookReceiver([500]);
    const client = new Replicate({ auth: 'sim', baseUrl: own.baseUrls.replicate });
    await client.predictions.create({
      model: MODEL,
      input,
      webhook: receiver.url,
      webhook_events_filter: ['completed'],
    });
    await eventually(() => (own.webhookDeliveries()[0]?.attempts.length === 1 ? true : undefined));
    await own.close();
    await own.webhooksIdle();
    expect(own.webhookDeliveries()).toMatchObject([{ attempts: [500], outcome: 'failed' }]);
  });
});
