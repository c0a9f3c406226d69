import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

/** Waits for `generations` training rows of one request id to be written. */
async function examplesOf(stack: Stack, requestId: string, generations: number) {
  await eventually(async () => {
    await stack.services.telemetry.flush();
    const { rows } = await stack.database.db.query(
      'select 1 from ai_training_examples where request_id = $1',
      [requestId],
    );
    return rows.length === generations ? true : undefined;
  });
}

/** The attempt numbers of each training row of one request id, joined by its own key. */
async function attemptsPerExample(stack: Stack, requestId: string): Promise<number[][]> {
  const { rows } = await stack.database.db.query<{ attempts: number[] }>(
    `select coalesce(array_agg(a.attempt_no order by a.attempt_no)
                       filter (where a.attempt_no is not null), '{}') as attempts
       from ai_training_examples e
       left join ai_provider_attempts a on a.training_example_id = e.id
      where e.request_id = $1
      group by e.id`,
    [requestId],
  );
  return rows.map((row) => row.attempts);
}

async function attemptRows(stack: Stack, requestId: string): Promise<number> {
  const { rows } = await stack.database.db.query<{ n: number }>(
    'select count(*)::int as n from ai_provider_attempts where request_id = $1',
    [requestId],
  );
  return rows[0]!.n;
}

/** Forgets the failures a test caused, so that the next test routes from a clean slate. */
async function clearCooldown(stack: Stack) {
  await stack.database.db.query(
    'update ai_provider_health set consecutive_failures = 0, cooldown_until = null',
  );
  await stack.services.cooldown.refresh();
}

describeEachStack('a repeated x-request-id keeps every generation and all its attempts', (use) => {
  it('generate-site: three calls with one x-request-id, each falling back once, keep 3 rows and 6 attempts', async () => {
    const stack = use();
    try {
      const token = await stack.token();
      const requestId = randomUUID();
      for (let call = 0; call < 3; call++) {
        const response = await stack.app.request('/functions/v1/generate-site', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'x-request-id': requestId,
            // The default provider answers JSON that does not parse: one failed attempt, then the
            // fallback answers.
            'x-genloop-simulate': 'openai=invalid-json',
          },
          body: JSON.stringify({ prompt: `A bike repair shop, take ${call}` }),
        });
        expect(response.status, await response.clone().text()).toBe(200);
        const body = (await response.json()) as { requestId: string; fallbackUsed: boolean };
        expect(body).toMatchObject({ requestId, fallbackUsed: true });
        expect(response.headers.get('x-request-id')).toBe(requestId);
      }
      await examplesOf(stack, requestId, 3);
      expect(await attemptRows(stack, requestId)).toBe(6);
      expect(await attemptsPerExample(stack, requestId)).toEqual([
        [1, 2],
        [1, 2],
        [1, 2],
      ]);
    } finally {
      // Invalid output counts toward the provider's cooldown; the next test starts clean.
      await clearCooldown(stack);
    }
  });

  it('gateway: three completions with one x-request-id, each falling back once, keep 3 rows and 6 attempts', async () => {
    const stack = use();
    const token = await stack.token();
    const requestId = randomUUID();
    try {
      for (let call = 0; call < 3; call++) {
        const response = await stack.app.request('/v1/chat/completions', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'x-request-id': requestId,
            // A refused key is not worth retrying on the same provider: the route falls back.
            'x-genloop-simulate': 'openai=error:401',
          },
          body: JSON.stringify({
            model: 'default',
            messages: [{ role: 'user', content: `say hello, take ${call}` }],
          }),
        });
        expect(response.status, await response.clone().text()).toBe(200);
        expect(response.headers.get('x-request-id')).toBe(requestId);
        expect(response.headers.get('x-genloop-fallback-used')).toBe('true');
      }
      await examplesOf(stack, requestId, 3);
      expect(await attemptRows(stack, requestId)).toBe(6);
      expect(await attemptsPerExample(stack, requestId)).toEqual([
        [1, 2],
        [1, 2],
        [1, 2],
      ]);
    } finally {
      await clearCooldown(stack);
    }
  });

  it('flashcards: two jobs submitted with one x-request-id keep both sets of attempts', async () => {
    const stack = use();
    const worker = await stack.startWorker();
    try {
      const requestId = randomUUID();
      for (let job = 0; job < 2; job++) {
        const response = await stack.app.request('/api/ai/generations', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await stack.token()}`,
            'content-type': 'application/json',
            'x-request-id': requestId,
            'x-genloop-simulate': 'openrouter=invalid-json',
          },
          body: JSON.stringify({ source_text: `Cells divide by mitosis, job ${job}. `.repeat(40) }),
        });
        expect(response.status, await response.clone().text()).toBe(202);
      }
      await examplesOf(stack, requestId, 2);
      expect(await attemptRows(stack, requestId)).toBe(4);
      expect(await attemptsPerExample(stack, requestId)).toEqual([
        [1, 2],
        [1, 2],
      ]);
    } finally {
      await worker.stop(1_000);
    }
  });
});
