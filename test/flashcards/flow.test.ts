import { randomUUID } from 'node:crypto';
import { expect, it, onTestFinished } from 'vitest';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

const SOURCE =
  'The Great Barrier Reef is the largest coral reef system in the world. It lies off the coast of Queensland. ' +
  'It is composed of over 2,900 individual reefs and 900 islands. It stretches for over 2,300 kilometres. ' +
  'The reef can be seen from outer space. It is the largest single structure made by living organisms. ' +
  'It was selected as a World Heritage Site in 1981. Climate change and coral bleaching threaten its health. ';
const sourceText = (extra = '') => `${extra} ${SOURCE.repeat(6)}`.slice(0, 1500);

async function request(
  stack: Stack,
  path: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const token = init.token ?? (await stack.token());
  return stack.app.request(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read fields of arbitrary JSON answers.
const json = async (response: Response) => (await response.json()) as Record<string, any>;

async function waitForStatus(stack: Stack, token: string, id: string, statuses: string[]) {
  return eventually(async () => {
    const body = await json(await request(stack, `/api/ai/generations/${id}`, { token }));
    return statuses.includes(body.status) ? body : undefined;
  });
}

describeEachStack(
  'flashcards end to end',
  (use) => {
    it('202 → worker → suggestions → accept creates one card; reject; edit before accept', async () => {
      const stack = use();
      await stack.startWorker();
      const userId = randomUUID();
      const token = await stack.token(userId);
      const created = await request(stack, '/api/ai/generations', {
        method: 'POST',
        token,
        body: { source_text: sourceText() },
      });
      expect(created.status).toBe(202);
      const accepted = await json(created);
      expect(Object.keys(accepted).sort()).toEqual(['generation_id', 'status']);
      expect(accepted.status).toBe('pending');

      const done = await waitForStatus(stack, token, accepted.generation_id, [
        'succeeded',
        'failed',
      ]);
      expect(done.status).toBe('succeeded');
      expect(done.tokens_input).toBeGreaterThan(0);
      expect(done.tokens_output).toBeGreaterThan(0);
      expect(done.ai_metadata).toMatchObject({
        provider: 'openrouter',
        prompt_version: 'flashcards-v1',
      });
      expect(typeof done.ai_metadata.latency_ms).toBe('number');

      const list = await json(
        await request(stack, `/api/ai/suggestions?generation_id=${accepted.generation_id}`, {
          token,
        }),
      );
      expect(list.data.length).toBeGreaterThanOrEqual(3);
      expect(list.data.every((s: { status: string }) => s.status === 'proposed')).toBe(true);
      // One set per generation, numbered in the order the model gave the cards.
      expect(list.data.map((s: { position: number }) => s.position)).toEqual(
        list.data.map((_: unknown, index: number) => index + 1),
      );
      expect(
        list.data.every((s: { front: string; back: string }) => s.front !== '' && s.back !== ''),
      ).toBe(true);
      // Every row the job wrote has an id genloop minted in time order (a version 7 UUID), so
      // the tables' primary keys grow at their right edge instead of at random pages.
      const minted = await stack.database.db.query<{ kind: string; id: string }>(
        `select 'suggestion' as kind, id::text from ai_suggestions where generation_id = $1
         union all select 'training', id::text from ai_training_examples where generation_id = $1
         union all select kind, id::text from usage_ledger where generation_id = $1`,
        [accepted.generation_id],
      );
      expect(new Set(minted.rows.map((row) => row.kind))).toEqual(
        new Set(['suggestion', 'training', 'reserve', 'settle']),
      );
      for (const { id } of [...minted.rows, { id: accepted.generation_id }]) {
        expect(id[14]).toBe('7');
      }
      const [first, second, third] = list.data;

      const card = await request(stack, `/api/ai/suggestions/${first.id}/accept`, {
        method: 'POST',
        token,
      });
      expect(card.status).toBe(201);
      const again = await request(stack, `/api/ai/suggestions/${first.id}/accept`, {
        method: 'POST',
        token,
      });
      expect(again.status).toBe(200);
      expect((await json(again)).id).toBe((await json(card)).id);

      expect(
        (await request(stack, `/api/ai/suggestions/${second.id}/reject`, { method: 'POST', token }))
          .status,
      ).toBe(200);
      expect(
        (await request(stack, `/api/ai/suggestions/${second.id}/accept`, { method: 'POST', token }))
          .status,
      ).toBe(409);

      const edited = await request(stack, `/api/ai/suggestions/${third.id}`, {
        method: 'PATCH',
        token,
        body: { back: 'Off Queensland.' },
      });
      expect(edited.status).toBe(200);
      expect(await json(edited)).toMatchObject({ back: 'Off Queensland.', edited: true });
      const editedCard = await json(
        await request(stack, `/api/ai/suggestions/${third.id}/accept`, { method: 'POST', token }),
      );
      expect(editedCard).toMatchObject({ back: 'Off Queensland.', source: 'ai_edited' });

      const cards = await stack.database.db.query('select 1 from cards where user_id = $1', [
        userId,
      ]);
      expect(cards.rowCount).toBe(2);
      // One telemetry row and a settled reservation for the job.
      const telemetry = await stack.database.db.query(
        'select status from ai_training_examples where generation_id = $1',
        [accepted.generation_id],
      );
      expect(telemetry.rows).toEqual([{ status: 'succeeded' }]);
      const ledger = await stack.database.db.query<{ kind: string }>(
        'select kind from usage_ledger where generation_id = $1 order by kind',
        [accepted.generation_id],
      );
      expect(ledger.rows.map((row) => row.kind)).toEqual(['reserve', 'settle']);

      const page = await json(await request(stack, '/api/ai/generations?limit=1', { token }));
      expect(page.data).toHaveLength(1);
      expect(page.data[0].id).toBe(accepted.generation_id);
    });

    it('provider failure: failed with the diagnostic in error, quota refunded once', async () => {
      const stack = use();
      await stack.startWorker();
      const token = await stack.token();
      const created = await json(
        await request(stack, '/api/ai/generations', {
          method: 'POST',
          token,
          body: { source_text: sourceText('x') },
          headers: {
            'x-genloop-simulate': 'openrouter=error:500;openai=error:500;custom=error:500',
          },
        }),
      );
      const failed = await waitForStatus(stack, token, created.generation_id, [
        'failed',
        'succeeded',
      ]);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ code: 'all_providers_failed' });
      expect(failed.error.attempts.length).toBeGreaterThan(0);
      expect(failed.error.attempts[0]).toMatchObject({ provider: 'openrouter', http_status: 500 });
      const ledger = await stack.database.db.query<{ kind: string }>(
        'select kind from usage_ledger where generation_id = $1 order by kind',
        [created.generation_id],
      );
      expect(ledger.rows.map((row) => row.kind)).toEqual(['refund', 'reserve']);
    });

    it('bad input: each a 4xx with the field named, nothing stored', async () => {
      const stack = use();
      const userId = randomUUID();
      const token = await stack.token(userId);
      const cases: Array<[unknown, number, string]> = [
        [{ source_text: 'too short' }, 400, 'body.source_text'],
        [{ source_text: 'a'.repeat(10_001) }, 400, 'body.source_text'],
        [{ source_text: `${'a'.repeat(1_000)}\u0000` }, 400, 'body.source_text'],
        [{ source_text: `${'a'.repeat(1_000)}\u0001\u0002` }, 400, 'body.source_text'],
        [{ source_text: 1234 }, 400, 'body.source_text'],
        [[], 400, 'body'],
        [{ source_text: sourceText(), model: 5 }, 400, 'body.model'],
        [{ source_text: sourceText(), unexpected: true }, 400, 'body'],
      ];
      for (const [body, status, field] of cases) {
        const response = await request(stack, '/api/ai/generations', {
          method: 'POST',
          token,
          body,
        });
        expect(response.status).toBe(status);
        const problem = await json(response);
        expect(
          problem.errors.some((error: { field: string }) => error.field.startsWith(field)),
        ).toBe(true);
      }
      const invalidUtf8 = await stack.app.request('/api/ai/generations', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      });
      expect(invalidUtf8.status).toBe(400);
      expect((await json(invalidUtf8)).code).toBe('invalid_utf8');
      const wrongType = await request(stack, '/api/ai/generations', {
        method: 'POST',
        token,
        body: 'source_text=x',
        headers: { 'content-type': 'text/plain' },
      });
      expect(wrongType.status).toBe(415);
      const empty = await stack.app.request('/api/ai/generations', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      expect(empty.status).toBe(400);
      const huge = await stack.app.request('/api/ai/generations', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(10 * 1024 * 1024),
        },
        body: 'x'.repeat(10 * 1024 * 1024),
      });
      expect(huge.status).toBe(413);
      expect(
        (
          await request(stack, '/api/ai/generations', {
            method: 'POST',
            body: {},
            token: 'not-a-jwt',
          })
        ).status,
      ).toBe(401);
      expect((await request(stack, `/api/ai/generations/${randomUUID()}`, { token })).status).toBe(
        404,
      );
      expect((await request(stack, '/api/ai/generations/not-a-uuid', { token })).status).toBe(404);
      expect((await request(stack, '/api/ai/generations?cursor=%%%', { token })).status).toBe(400);
      const stored = await stack.database.db.query(
        'select 1 from ai_generations where user_id = $1',
        [userId],
      );
      expect(stored.rowCount).toBe(0);
    });

    it('rate limit: racing requests get exactly the allowed number of 202s, the rest 429 with Retry-After', async () => {
      const stack = use();
      const token = await stack.token();
      const responses = await Promise.all(
        Array.from({ length: 9 }, (_, index) =>
          request(stack, '/api/ai/generations', {
            method: 'POST',
            token,
            body: { source_text: sourceText(String(index)) },
          }),
        ),
      );
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses.filter((status) => status === 202)).toHaveLength(5);
      expect(statuses.filter((status) => status === 429)).toHaveLength(4);
      const limited = responses.find((response) => response.status === 429)!;
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await json(limited)).code).toBe('rate_limited');
    });

    it('idempotency: replay, mismatch 422, another user independent', async () => {
      const stack = use();
      const token = await stack.token();
      const key = randomUUID();
      const body = { source_text: sourceText('idem') };
      const first = await request(stack, '/api/ai/generations', {
        method: 'POST',
        token,
        body,
        headers: { 'idempotency-key': key },
      });
      const second = await request(stack, '/api/ai/generations', {
        method: 'POST',
        token,
        body,
        headers: { 'idempotency-key': key },
      });
      expect(first.status).toBe(202);
      expect(second.status).toBe(202);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      const firstBody = await json(first);
      expect(await json(second)).toEqual(firstBody);
      const jobs = await stack.database.db.query(
        'select 1 from ai_generations where idempotency_key = $1',
        [key],
      );
      expect(jobs.rowCount).toBe(1);

      const other = await request(stack, '/api/ai/generations', {
        method: 'POST',
        token,
        body: { source_text: sourceText('different') },
        headers: { 'idempotency-key': key },
      });
      expect(other.status).toBe(422);
      expect((await json(other)).code).toBe('idempotency_key_reused');

      const otherUser = await request(stack, '/api/ai/generations', {
        method: 'POST',
        body,
        headers: { 'idempotency-key': key },
      });
      expect(otherUser.status).toBe(202);
      expect((await json(otherUser)).generation_id).not.toBe(firstBody.generation_id);
    });

    it('idempotency: the same key at once gives one 202 and one 409', async () => {
      const stack = use();
      const token = await stack.token();
      const key = randomUUID();
      const body = { source_text: sourceText('race') };
      const statuses = (
        await Promise.all(
          [0, 1].map(() =>
            request(stack, '/api/ai/generations', {
              method: 'POST',
              token,
              body,
              headers: { 'idempotency-key': key },
            }),
          ),
        )
      )
        .map((response) => response.status)
        .sort();
      // Either the second waited for the first to finish (replay) or saw it in progress (409).
      expect(statuses[0]).toBe(202);
      expect([202, 409]).toContain(statuses[1]);
      const jobs = await stack.database.db.query(
        'select 1 from ai_generations where idempotency_key = $1',
        [key],
      );
      expect(jobs.rowCount).toBe(1);
    });

    it("user B gets 404 for every route on A's objects and changes nothing", async () => {
      const stack = use();
      await stack.startWorker();
      const tokenA = await stack.token();
      const tokenB = await stack.token();
      const created = await json(
        await request(stack, '/api/ai/generations', {
          method: 'POST',
          token: tokenA,
          body: { source_text: sourceText('owner') },
        }),
      );
      await waitForStatus(stack, tokenA, created.generation_id, ['succeeded']);
      const suggestions = await json(
        await request(stack, `/api/ai/suggestions?generation_id=${created.generation_id}`, {
          token: tokenA,
        }),
      );
      const suggestion = suggestions.data[0];
      const attempts = [
        request(stack, `/api/ai/generations/${created.generation_id}`, { token: tokenB }),
        request(stack, `/api/ai/generations/${created.generation_id}/cancel`, {
          method: 'POST',
          token: tokenB,
        }),
        request(stack, `/api/ai/suggestions?generation_id=${created.generation_id}`, {
          token: tokenB,
        }),
        request(stack, `/api/ai/suggestions/${suggestion.id}/accept`, {
          method: 'POST',
          token: tokenB,
        }),
        request(stack, `/api/ai/suggestions/${suggestion.id}/reject`, {
          method: 'POST',
          token: tokenB,
        }),
        request(stack, `/api/ai/suggestions/${suggestion.id}`, {
          method: 'PATCH',
          token: tokenB,
          body: { front: 'hacked' },
        }),
      ];
      for (const response of await Promise.all(attempts)) expect(response.status).toBe(404);
      const after = await json(
        await request(stack, `/api/ai/suggestions?generation_id=${created.generation_id}`, {
          token: tokenA,
        }),
      );
      expect(after.data[0]).toMatchObject({
        id: suggestion.id,
        front: suggestion.front,
        status: 'proposed',
      });
      const listB = await json(await request(stack, '/api/ai/generations', { token: tokenB }));
      expect(listB.data).toEqual([]);
    });

    it('cancel: a pending or running job is canceled and refunded; an ended one is 409', async () => {
      const stack = use();
      const token = await stack.token();
      // A slow provider keeps the job pending or running while it is canceled.
      stack.simulator.setFaults({ openrouter: 'slow:2000' });
      onTestFinished(() => stack.simulator.setFaults({}));
      const created = await json(
        await request(stack, '/api/ai/generations', {
          method: 'POST',
          token,
          body: { source_text: sourceText('cancel') },
        }),
      );
      const canceled = await request(stack, `/api/ai/generations/${created.generation_id}/cancel`, {
        method: 'POST',
        token,
      });
      expect(canceled.status).toBe(200);
      expect((await json(canceled)).status).toBe('canceled');
      expect(
        (
          await request(stack, `/api/ai/generations/${created.generation_id}/cancel`, {
            method: 'POST',
            token,
          })
        ).status,
      ).toBe(409);
      const ledger = await stack.database.db.query<{ kind: string }>(
        'select kind from usage_ledger where generation_id = $1 order by kind',
        [created.generation_id],
      );
      expect(ledger.rows.map((row) => row.kind)).toEqual(['refund', 'reserve']);
      // The provider's late answer does not move the job back: no suggestions, no settlement.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const after = await json(
        await request(stack, `/api/ai/generations/${created.generation_id}`, { token }),
      );
      expect(after.status).toBe('canceled');
      const late = await stack.database.db.query<{ kind: string }>(
        `select kind from usage_ledger where generation_id = $1
          union all select 'suggestion' from ai_suggestions where generation_id = $1`,
        [created.generation_id],
      );
      expect(late.rows.map((row) => row.kind).sort()).toEqual(['refund', 'reserve']);
    });
  },
  {},
);

describeEachStack(
  'flashcards quota',
  (use) => {
    it('racing for the last units: exactly the allowance wins, the rest get 402 quota_exceeded', async () => {
      const stack = use();
      const token = await stack.token();
      const responses = await Promise.all(
        Array.from({ length: 7 }, (_, index) =>
          request(stack, '/api/ai/generations', {
            method: 'POST',
            token,
            body: { source_text: sourceText(`q${index}`) },
          }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 202)).toHaveLength(3);
      expect(statuses.filter((status) => status === 402)).toHaveLength(4);
      expect((await json(responses.find((response) => response.status === 402)!)).code).toBe(
        'quota_exceeded',
      );
    });
  },
  { GENLOOP_MONTHLY_QUOTA: '3', GENLOOP_RATE_LIMIT_FLASHCARDS: '100/1m' },
);
