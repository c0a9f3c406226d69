import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { verifyStandardWebhook } from '../../src/jobs/webhooks/standard-webhooks.ts';
import type { Logger } from '../../src/lib/logger.ts';
import { CanaryController } from '../../src/rollout/canary/controller.ts';
import type { CanaryEvent } from '../../src/rollout/canary/events.ts';
import { CanaryNotifier } from '../../src/rollout/canary/notify.ts';
import { selectDueRuns } from '../../src/rollout/canary/sql.ts';
import { startCanary } from '../../src/rollout/canary/start.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { eventually } from '../helpers/stack.ts';
import { makeDue, recordFirstTries, testSettings } from './canary-fixtures.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  answered: number;
}

/** A receiver that answers each POST with the next status of `script` (then 200), or never. */
async function receiver(script: (number | 'hang')[] = []) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const next = script.shift() ?? 200;
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks),
        answered: next === 'hang' ? 0 : next,
      });
      if (next === 'hang') return;
      response.writeHead(next).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/canary`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A logger that keeps its warnings. */
function warnings() {
  const messages: { fields: Record<string, unknown>; message: string }[] = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => messages.push({ fields, message }),
    info: () => {},
  } as unknown as Logger;
  return { logger, messages };
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describeEachDriver('canary notifications', (use) => {
  it('posts every decision in order, signed per Standard Webhooks, retrying with the same id', async () => {
    const { db } = use();
    await db.query(
      `update ai_canary_runs set status = 'aborted', finished_at = now() where status in ('progressing', 'halted')`,
    );
    const hook = await receiver([503]);
    closers.push(hook.close);
    const { logger, messages } = warnings();
    const notifier = new CanaryNotifier({ logger, retryDelaysMs: [50, 100] });
    closers.push(() => notifier.close());
    const started = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ steps: [50, 100], intervalMs: 60_000 }),
      operator: 'alice',
      notifyUrl: hook.url,
    });
    const { run } = started;
    expect(run.notifySecret).toMatch(/^whsec_/);
    notifier.send({ url: run.notifyUrl, secret: run.notifySecret }, started.event);

    const controller = new CanaryController({ db, notifier });
    for (let step = 0; step < 2; step++) {
      await recordFirstTries(db, 'custom', 6);
      await recordFirstTries(db, 'openai', 6);
      await makeDue(db, run.id);
      const [due] = await selectDueRuns(db);
      expect(await controller.check(due!)).toBeDefined();
    }
    expect(await notifier.flush(5_000)).toBe(true);

    // The first delivery was refused once and retried with the same id.
    expect(hook.received.map((delivery) => delivery.answered)).toEqual([503, 200, 200, 200]);
    expect(hook.received[1]!.headers['webhook-id']).toBe(hook.received[0]!.headers['webhook-id']);
    const delivered = hook.received.slice(1);
    for (const delivery of delivered) {
      const verdict = verifyStandardWebhook(
        run.notifySecret!,
        {
          id: delivery.headers['webhook-id'] as string,
          timestamp: delivery.headers['webhook-timestamp'] as string,
          signature: delivery.headers['webhook-signature'] as string,
        },
        delivery.body,
      );
      expect(verdict.ok).toBe(true);
      expect(delivery.headers['content-type']).toBe('application/json');
      // Signed with the run's secret, not any other.
      expect(
        verifyStandardWebhook(
          'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          {
            id: delivery.headers['webhook-id'] as string,
            timestamp: delivery.headers['webhook-timestamp'] as string,
            signature: delivery.headers['webhook-signature'] as string,
          },
          delivery.body,
        ).ok,
      ).toBe(false);
    }
    const events = delivered.map((delivery) => JSON.parse(delivery.body.toString()) as CanaryEvent);
    expect(events.map((event) => [event.event, event.state, event.weight])).toEqual([
      ['canary_start', 'progressing', 50],
      ['canary_step', 'progressing', 100],
      ['canary_complete', 'promoted', 100],
    ]);
    expect(events[1]!.check).toMatchObject({ verdict: 'passed', candidate: { samples: 6 } });
    const { rows } = await db.query<{ id: number; action: string }>(
      `select id, action from ai_rollout_log where (verification -> 'canary' ->> 'run_id')::bigint = $1 order by id`,
      [run.id],
    );
    expect(events.map((event) => [event.log_id, event.event])).toEqual(
      rows.map((row) => [row.id, row.action]),
    );
    expect(delivered.map((delivery) => delivery.headers['webhook-id'])).toEqual(
      rows.map((row) => `canary_${run.id}_${row.id}`),
    );
    expect(messages).toEqual([]);
  });

  it('never holds the controller up: a receiver that hangs costs a logged failure, a full queue drops the oldest', async () => {
    const { db } = use();
    await db.query(
      `update ai_canary_runs set status = 'aborted', finished_at = now() where status in ('progressing', 'halted')`,
    );
    await db.query(
      `update ai_provider_configs set is_default = (provider = 'openai'),
              weight = case provider when 'openai' then 100 else 0 end, metadata = '{}'
        where environment = 'prod'`,
    );
    const hook = await receiver(['hang', 'hang', 'hang', 'hang', 'hang', 'hang']);
    closers.push(hook.close);
    const { logger, messages } = warnings();
    const notifier = new CanaryNotifier({
      logger,
      retryDelaysMs: [20],
      timeoutMs: 300,
      maxQueue: 2,
    });
    closers.push(() => notifier.close());
    const { run, event } = await startCanary(db, {
      environment: 'prod',
      provider: 'custom',
      settings: testSettings({ intervalMs: 60_000 }),
      operator: 'alice',
      notifyUrl: hook.url,
    });
    const target = { url: run.notifyUrl, secret: run.notifySecret };

    const controller = new CanaryController({ db, notifier });
    await makeDue(db, run.id);
    const [due] = await selectDueRuns(db);
    const began = Date.now();
    notifier.send(target, event);
    expect((await controller.check(due!))?.event).toBe('canary_check');
    expect(Date.now() - began).toBeLessThan(300);

    for (let extra = 0; extra < 3; extra++)
      notifier.send(target, { ...event, log_id: 1_000 + extra });
    expect(messages.filter((entry) => entry.message.includes('dropped'))).toHaveLength(2);
    await eventually(async () =>
      messages.some((entry) => entry.message === 'canary notification failed') ? true : undefined,
    );
    expect(
      messages.find((entry) => entry.message === 'canary notification failed')!.fields,
    ).toMatchObject({
      url: hook.url,
      event: 'canary_start',
    });
  });
});
