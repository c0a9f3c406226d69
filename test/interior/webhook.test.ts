import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook } from '../../src/simulator/index.ts';
import {
  describeEachInteriorStack,
  type InteriorStack,
  jobRow,
  json,
  ledger,
  orphanJob,
  submit,
  waitForStatus,
} from './stack.ts';

/** What a webhook may have written: dedupe rows, renders, the job's state, the ledger. */
async function writes(stack: InteriorStack, jobId: string, userId: string) {
  const { rows } = await stack.database.db.query<{ events: number; renders: number }>(
    `select (select count(*)::int from public.webhook_events) as events,
            (select count(*)::int from public.renders where generation_id = $1) as renders`,
    [jobId],
  );
  return {
    ...rows[0],
    job: (await jobRow(stack, jobId))?.status,
    ledger: await ledger(stack, userId),
  };
}

describeEachInteriorStack('replicate webhook: verification, dedupe, ordering', (use) => {
  it('refuses a changed byte, a wrong secret, missing headers, stale and future timestamps: 4xx, no write', async () => {
    const stack = use();
    const fresh = await orphanJob(stack);
    const freshBody = JSON.stringify(fresh.prediction);
    const freshBefore = await writes(stack, fresh.id, fresh.userId);
    expect(freshBefore).toMatchObject({ renders: 0, job: 'running', ledger: ['reserve:-1'] });
    const now = Math.floor(Date.now() / 1000);
    const cases: {
      name: string;
      response: () => Promise<Response>;
      status: number;
      code: string;
    }[] = [
      {
        name: 'one byte changed',
        status: 401,
        code: 'webhook_signature_invalid',
        response: async () => {
          const id = `msg_${randomUUID()}`;
          const good = signWebhook(stack.simulator.webhookSecret, id, now, freshBody);
          const changed = Buffer.from(freshBody);
          changed[changed.length - 2] = changed[changed.length - 2]! ^ 0x01;
          return stack.postWebhook(changed, {
            id,
            timestamp: now,
            headers: { 'webhook-signature': good },
          });
        },
      },
      {
        name: 'wrong secret',
        status: 401,
        code: 'webhook_signature_invalid',
        response: () => stack.postWebhook(freshBody, { secret: generateWebhookSecret() }),
      },
      {
        name: 'no webhook-signature',
        status: 400,
        code: 'webhook_headers_invalid',
        response: () =>
          stack.postWebhook(freshBody, { headers: { 'webhook-signature': undefined } }),
      },
      {
        name: 'no webhook-id',
        status: 400,
        code: 'webhook_headers_invalid',
        response: () => stack.postWebhook(freshBody, { headers: { 'webhook-id': undefined } }),
      },
      {
        name: 'no webhook-timestamp',
        status: 400,
        code: 'webhook_headers_invalid',
        response: () =>
          stack.postWebhook(freshBody, { headers: { 'webhook-timestamp': undefined } }),
      },
      {
        name: 'timestamp six minutes old',
        status: 401,
        code: 'webhook_signature_invalid',
        response: () => stack.postWebhook(freshBody, { timestamp: now - 360 }),
      },
      {
        name: 'timestamp six minutes ahead',
        status: 401,
        code: 'webhook_signature_invalid',
        response: () => stack.postWebhook(freshBody, { timestamp: now + 360 }),
      },
      {
        name: 'signature of another delivery',
        status: 401,
        code: 'webhook_signature_invalid',
        response: () =>
          stack.postWebhook(freshBody, {
            headers: { 'webhook-signature': `v1,${Buffer.alloc(32, 7).toString('base64')}` },
          }),
      },
    ];
    for (const { name, response, status, code } of cases) {
      const answer = await response();
      expect(answer.status, name).toBe(status);
      expect(answer.headers.get('content-type'), name).toContain('application/problem+json');
      expect((await json(answer)).code, name).toBe(code);
    }
    expect(await writes(stack, fresh.id, fresh.userId)).toEqual(freshBefore);
    // Four minutes old is within the tolerance: accepted and applied.
    const accepted = await stack.postWebhook(freshBody, { timestamp: now - 240 });
    expect(accepted.status).toBe(200);
    expect(await json(accepted)).toEqual({ status: 'completed' });
    expect(await writes(stack, fresh.id, fresh.userId)).toMatchObject({
      renders: 1,
      job: 'succeeded',
      ledger: ['reserve:-1', 'settle:0'],
    });
  });

  it('accepts any one of several signatures (key rotation)', async () => {
    const stack = use();
    const job = await orphanJob(stack);
    const body = JSON.stringify(job.prediction);
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const old = signWebhook(generateWebhookSecret(), id, timestamp, body);
    const current = signWebhook(stack.simulator.webhookSecret, id, timestamp, body);
    const answer = await stack.postWebhook(body, {
      id,
      timestamp,
      headers: { 'webhook-signature': `${old} ${current}` },
    });
    expect(answer.status).toBe(200);
    expect((await jobRow(stack, job.id))?.status).toBe('succeeded');
  });

  it('a replayed webhook-id is applied once, also when both arrive at the same time', async () => {
    const stack = use();
    const job = await orphanJob(stack, { variants: 2 });
    const body = JSON.stringify(job.prediction);
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const answers = await Promise.all([
      stack.postWebhook(body, { id, timestamp }),
      stack.postWebhook(body, { id, timestamp }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    const replay = await stack.postWebhook(body, { id, timestamp });
    expect(replay.status).toBe(200);
    expect(await json(replay)).toEqual({ status: 'duplicate' });
    // A redelivery under another id (Replicate's retries keep the id; this one does not) is
    // still no second completion.
    const other = await stack.postWebhook(body);
    expect(await json(other)).toEqual({ status: 'already_final' });

    const { rows } = await stack.database.db.query<{ variants: number; telemetry: number }>(
      `select (select count(*)::int from public.render_variants v join public.renders r on r.id = v.render_id
                where r.generation_id = $1) as variants,
              (select count(*)::int from public.ai_training_examples where generation_id = $1) as telemetry`,
      [job.id],
    );
    expect(rows[0]).toEqual({ variants: 2, telemetry: 1 });
    expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'settle:0']);
    const view = await waitForStatus(stack, job.token, job.id);
    expect(view.variants).toHaveLength(2);
  });

  it('a body that is not JSON, or not a prediction, is 400 naming the field; nothing written', async () => {
    const stack = use();
    const job = await orphanJob(stack);
    const before = await writes(stack, job.id, job.userId);
    const notJson = await stack.postWebhook('{"id": "p", "status": ');
    expect(notJson.status).toBe(400);
    expect(await json(notJson)).toMatchObject({
      code: 'invalid_json',
      errors: [expect.objectContaining({ field: 'body' })],
    });
    const notUtf8 = await stack.postWebhook(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect(notUtf8.status).toBe(400);
    const wrongShape = await stack.postWebhook(
      JSON.stringify({ id: job.prediction.id, status: 'done' }),
    );
    expect(wrongShape.status).toBe(400);
    expect(await json(wrongShape)).toMatchObject({
      code: 'validation_failed',
      errors: [expect.objectContaining({ field: 'body.status' })],
    });
    expect(await writes(stack, job.id, job.userId)).toEqual(before);
  });

  it('a prediction no job has yet is 404 (Replicate retries) and the retry is applied once it is known', async () => {
    const stack = use();
    const unknown = await stack.postWebhook(
      JSON.stringify({ id: 'no-such-prediction', status: 'succeeded', output: [] }),
    );
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).code).toBe('unknown_prediction');

    // The webhook beats the worker storing the prediction id.
    const job = await orphanJob(stack, { attach: false });
    const body = JSON.stringify(job.prediction);
    const id = `msg_${randomUUID()}`;
    const early = await stack.postWebhook(body, { id });
    expect(early.status).toBe(404);
    expect(await writes(stack, job.id, job.userId)).toMatchObject({
      renders: 0,
      job: 'pending',
      ledger: ['reserve:-1'],
    });
    await job.attach();
    const retried = await stack.postWebhook(body, { id });
    expect(retried.status).toBe(200);
    expect(await json(retried)).toEqual({ status: 'completed' });
    expect((await jobRow(stack, job.id))?.status).toBe('succeeded');
  });

  it('a late "processing" or "failed" after success changes nothing', async () => {
    const stack = use();

    const job = await orphanJob(stack);
    expect((await stack.postWebhook(JSON.stringify(job.prediction))).status).toBe(200);
    const after = await writes(stack, job.id, job.userId);
    expect(after.job).toBe('succeeded');
    const late = await stack.postWebhook(
      JSON.stringify({ ...job.prediction, status: 'processing', output: null }),
    );
    expect(await json(late)).toEqual({ status: 'already_final' });
    const failedLate = await stack.postWebhook(
      JSON.stringify({ ...job.prediction, status: 'failed', error: 'boom', output: null }),
    );
    expect(await json(failedLate)).toEqual({ status: 'already_final' });
    const { events, ...rest } = await writes(stack, job.id, job.userId);
    const { events: eventsBefore, ...restBefore } = after;
    expect(rest).toEqual(restBefore);
    expect(events).toBe(eventsBefore);
  });

  it('a still-running prediction is acknowledged and leaves the job running', async () => {
    const stack = use();
    const job = await orphanJob(stack);
    const answer = await stack.postWebhook(
      JSON.stringify({ ...job.prediction, status: 'processing', output: null }),
    );
    expect(await json(answer)).toEqual({ status: 'not_terminal' });
    expect((await jobRow(stack, job.id))?.status).toBe('running');
  });

  it('a failed prediction fails the job with a generic error and refunds once', async () => {
    const stack = use();
    const job = await orphanJob(stack);
    const failed = {
      ...job.prediction,
      status: 'failed',
      output: null,
      error: 'CUDA out of memory at /srv/model.py line 42',
    };
    expect(await json(await stack.postWebhook(JSON.stringify(failed)))).toEqual({
      status: 'completed',
    });
    expect(await json(await stack.postWebhook(JSON.stringify(failed)))).toEqual({
      status: 'already_final',
    });
    const view = await waitForStatus(stack, job.token, job.id);
    expect(view).toMatchObject({
      status: 'failed',
      error: {
        code: 'provider_failed',
        message: 'the image model could not finish this generation',
      },
      variants: [],
    });
    expect(JSON.stringify(view)).not.toContain('CUDA');
    expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'refund:1']);
  });

  it("the simulator's duplicated completed webhook (same webhook-id) is applied once", async () => {
    const stack = use();
    // The worker polls rarely (30 s): the webhook is what wakes it.
    await stack.startWorker();
    const userId = randomUUID();
    const token = await stack.token(userId);
    const created = await submit(
      stack,
      token,
      { mode: 'imagine', prompt: 'a mudroom', quality: 'draft' },
      { 'x-genloop-simulate': 'replicate=duplicate-webhook' },
    );
    expect(created.status).toBe(202);
    const { id } = await json(created);
    expect((await waitForStatus(stack, token, id)).status).toBe('succeeded');
    await stack.simulator.webhooksIdle();
    const prediction = (await jobRow(stack, id))?.provider_prediction_id;
    const deliveries = stack.simulator
      .webhookDeliveries()
      .filter((delivery) => delivery.predictionId === prediction);
    expect(deliveries).toHaveLength(2);
    expect(new Set(deliveries.map((delivery) => delivery.webhookId)).size).toBe(1);
    expect(deliveries.every((delivery) => delivery.outcome === 'delivered')).toBe(true);
    expect(await ledger(stack, userId)).toEqual(['reserve:-1', 'settle:0']);
    const { rows } = await stack.database.db.query(
      'select 1 from public.renders where generation_id = $1',
      [id],
    );
    expect(rows).toHaveLength(1);
    await stack.stopWorkers();
  });
});
