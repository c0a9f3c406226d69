import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import {
  describeEachInteriorStack,
  eventually,
  type InteriorStack,
  jobRow,
  json,
  ledger,
  orphanJob,
  submit,
  waitForStatus,
} from './stack.ts';

/** Submits an imagine generation with simulator faults for Replicate; returns its ids. */
async function submitWithFault(stack: InteriorStack, fault: string) {
  const userId = randomUUID();
  const token = await stack.token(userId);
  // A prompt of its own, so the simulator's request log tells this job's calls apart.
  const marker = randomUUID();
  const created = await submit(
    stack,
    token,
    { mode: 'imagine', prompt: `a bright sunroom, ref ${marker}`, quality: 'draft' },
    { 'x-genloop-simulate': `replicate=${fault}` },
  );
  expect(created.status).toBe(202);
  return { userId, token, marker, id: (await json(created)).id as string };
}

/** Cancels a generation no test needs any more, so no later test's worker picks it up. */
async function cancel(stack: InteriorStack, token: string, id: string): Promise<void> {
  const answer = await stack.fetch(`/api/v1/generations/${id}/cancel`, { token, method: 'POST' });
  // 409: it already ended.
  expect([200, 409]).toContain(answer.status);
}

/** The create calls the simulator received for one job. */
function createCalls(stack: InteriorStack, marker: string): number {
  return stack.simulator
    .requests({ provider: 'replicate', method: 'POST', path: /predictions$/ })
    .filter((request) => JSON.stringify(request.body).includes(marker)).length;
}

describeEachInteriorStack(
  'interior: provider failures, timeouts, late webhooks, the poller',
  (use) => {
    it('a prediction that fails ends the job failed with a generic error and refunds once', async () => {
      const stack = use();
      await stack.startWorker();
      const job = await submitWithFault(stack, 'fail');
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view).toMatchObject({
        status: 'failed',
        error: {
          code: 'provider_failed',
          message: 'the image model could not finish this generation',
        },
        variants: [],
      });
      expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'refund:1']);
      // The in-flight slot is free again.
      const next = await submit(stack, job.token, { mode: 'imagine', prompt: 'a den' });
      expect(next.status).toBe(202);
      await stack.stopWorkers();
      await cancel(stack, job.token, (await json(next)).id);
    });

    // The create may have made a prediction, so neither the SDK nor genloop sends it again: one
    // create reaches the simulator, the job fails as provider_create_unknown and is refunded.
    it.each([
      ['a 5xx on create', 'error:500'],
      ['a connection cut after the create went through', 'reset-after-create'],
    ])('%s is not sent again: one prediction', async (_name, fault) => {
      const stack = use();
      await stack.startWorker();
      const job = await submitWithFault(stack, fault);
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view).toMatchObject({ status: 'failed', error: { code: 'provider_create_unknown' } });
      expect(createCalls(stack, job.marker)).toBe(1);
      expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'refund:1']);
      await stack.stopWorkers();
    });

    it('a 429 on create is retried with genloop backoff up to max_retries, then fails', async () => {
      const stack = use();
      await stack.startWorker();
      const job = await submitWithFault(stack, 'error:429:0');
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
      const config = await stack.interior.deps.providerConfig();
      expect(createCalls(stack, job.marker)).toBe(config!.maxRetries + 1);
      await stack.stopWorkers();
    });

    it('a 422 on create (bad input) is not retried', async () => {
      const stack = use();
      await stack.startWorker();
      const job = await submitWithFault(stack, 'error:422');
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
      expect(createCalls(stack, job.marker)).toBe(1);
      await stack.stopWorkers();
    });

    it('a prediction that never ends times out, refunds, and releases the in-flight lock', async () => {
      const stack = use();
      await stack.startWorker({ runningTimeoutMs: 1_000, leaseMs: 600 });
      const job = await submitWithFault(stack, 'hang');
      const view = await waitForStatus(stack, job.token, job.id, [
        'succeeded',
        'failed',
        'timed_out',
      ]);
      expect(view).toMatchObject({
        status: 'timed_out',
        error: { code: 'timed_out' },
        variants: [],
      });
      expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'refund:1']);
      // Asking Replicate again finds it still running: the job stays timed out.
      const refreshed = await json(
        await stack.fetch(`/api/v1/generations/${job.id}?refresh=true`, { token: job.token }),
      );
      expect(refreshed.status).toBe('timed_out');
      await stack.stopWorkers();
      const next = await submit(stack, job.token, { mode: 'imagine', prompt: 'a den' });
      expect(next.status).toBe(202);
      await cancel(stack, job.token, (await json(next)).id);
    });

    it('a late success webhook after the timeout still completes the job, charged once', async () => {
      const stack = use();
      await stack.startWorker({ runningTimeoutMs: 1_000, leaseMs: 600 });
      // The prediction finishes at once but its webhook never comes; the worker would poll only
      // after 30 s, so the job times out first.
      const job = await submitWithFault(stack, 'no-webhook');
      expect(
        (await waitForStatus(stack, job.token, job.id, ['succeeded', 'failed', 'timed_out']))
          .status,
      ).toBe('timed_out');
      await stack.stopWorkers();
      const predictionId = (await jobRow(stack, job.id))!.provider_prediction_id!;
      const prediction = await stack.interior.deps.replicate!.get(predictionId, {
        timeoutMs: 5_000,
      });
      expect(prediction.status).toBe('succeeded');

      // A late success whose images cannot be accepted leaves the job timed out and refunded.
      const hostile = { ...prediction, output: ['https://evil.example.com/x.png'] };
      expect(await json(await stack.postWebhook(JSON.stringify(hostile)))).toEqual({
        status: 'already_final',
      });
      expect((await jobRow(stack, job.id))?.status).toBe('timed_out');
      expect((await ledger(stack, job.userId)).sort()).toEqual(['refund:1', 'reserve:-1']);

      // Replicate delivers it late.
      const answer = await stack.postWebhook(JSON.stringify(prediction));
      expect(await json(answer)).toEqual({ status: 'completed' });
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view.status).toBe('succeeded');
      expect(view.error).toBeUndefined();
      expect(view.variants).toHaveLength(1);
      expect((await fetch(view.variants[0].url)).status).toBe(200);
      // Refunded at the timeout, charged again by the late success: one unit net.
      const entries = await ledger(stack, job.userId);
      expect(entries.sort()).toEqual(['adjust:-1', 'refund:1', 'reserve:-1']);
      // A second late delivery changes nothing.
      expect(await json(await stack.postWebhook(JSON.stringify(prediction)))).toEqual({
        status: 'already_final',
      });
      expect((await ledger(stack, job.userId)).length).toBe(3);
    });

    it('a worker that died after creating the prediction: the rerun resumes it, no second prediction', async () => {
      const stack = use();
      // Running under a dead worker's lease that has run out, with its prediction stored.
      const job = await orphanJob(stack);
      await stack.database.db.query(
        `update public.ai_generations
            set lease_until = now() - interval '1 second', locked_by = 'a-dead-worker'
          where id = $1`,
        [job.id],
      );
      await stack.startWorker();
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view.status).toBe('succeeded');
      expect(view.variants).toHaveLength(1);
      const row = await jobRow(stack, job.id);
      expect(row).toMatchObject({ provider_prediction_id: job.prediction.id, attempts: 2 });
      // The job's own prompt never reached the simulator: no create was sent for it.
      expect(createCalls(stack, 'terracotta')).toBe(0);
      expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'settle:0']);
      await stack.stopWorkers();
    });

    it('the poller completes a timed-out job whose webhook never came', async () => {
      const stack = use();
      await stack.startWorker({ runningTimeoutMs: 1_000, leaseMs: 600 });
      const job = await submitWithFault(stack, 'no-webhook');
      expect(
        (await waitForStatus(stack, job.token, job.id, ['succeeded', 'failed', 'timed_out']))
          .status,
      ).toBe('timed_out');
      await stack.stopWorkers();
      expect(await stack.interior.poller.sweep()).toBeGreaterThanOrEqual(1);
      const view = await waitForStatus(stack, job.token, job.id);
      expect(view.status).toBe('succeeded');
      expect(view.variants).toHaveLength(1);
      expect((await ledger(stack, job.userId)).sort()).toEqual([
        'adjust:-1',
        'refund:1',
        'reserve:-1',
      ]);
      // Nothing left to do on the next sweep.
      expect(await stack.interior.poller.sweep()).toBe(0);
    });

    it('a worker polls a prediction whose webhook never comes', async () => {
      const stack = use();
      const delays = stack.interior.deps.pollDelays;
      stack.interior.deps.pollDelays = { initialMs: 50, maxMs: 200 };
      try {
        await stack.startWorker();
        const job = await submitWithFault(stack, 'no-webhook');
        const view = await waitForStatus(stack, job.token, job.id);
        expect(view.status).toBe('succeeded');
        expect(await ledger(stack, job.userId)).toEqual(['reserve:-1', 'settle:0']);
      } finally {
        stack.interior.deps.pollDelays = delays;
        await stack.stopWorkers();
      }
    });

    it('GET ?refresh=true asks Replicate for a job whose webhook is late and finishes it', async () => {
      const stack = use();
      // The worker would poll only after 30 s and the webhook never comes: the refresh does it.
      await stack.startWorker();
      const job = await submitWithFault(stack, 'no-webhook');
      await eventually(async () => {
        const row = await jobRow(stack, job.id);
        return row?.provider_prediction_id ? row : undefined;
      });
      const view = await eventually(async () => {
        const body = await json(
          await stack.fetch(`/api/v1/generations/${job.id}?refresh=true`, { token: job.token }),
        );
        return body.status === 'succeeded' ? body : undefined;
      });
      expect(view.variants).toHaveLength(1);
      await stack.stopWorkers();
    });

    it('cancel: a pending job is canceled and refunded; a finished one is 409', async () => {
      const stack = use();
      const userId = randomUUID();
      const token = await stack.token(userId);
      const { id } = await json(await submit(stack, token, { mode: 'imagine', prompt: 'a hall' }));
      const canceled = await stack.fetch(`/api/v1/generations/${id}/cancel`, {
        token,
        method: 'POST',
      });
      expect(canceled.status).toBe(200);
      expect(await ledger(stack, userId)).toEqual(['reserve:-1', 'refund:1']);
      const again = await stack.fetch(`/api/v1/generations/${id}/cancel`, {
        token,
        method: 'POST',
      });
      expect(again.status).toBe(409);
      expect(
        (
          await stack.fetch(`/api/v1/generations/${id}/cancel`, {
            token: await stack.token(),
            method: 'POST',
          })
        ).status,
      ).toBe(404);
    });
  },
);
