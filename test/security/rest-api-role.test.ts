import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { asUser, type Claims } from '../../src/db/context.ts';
import { PG } from '../../src/db/errors.ts';
import { expectDbError, expectProblem } from '../helpers/errors.ts';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';
import { userClaims } from '../helpers/users.ts';
import { photo } from '../interior/fixtures.ts';
import {
  describeEachInteriorStack,
  form,
  type InteriorStack,
  jobRow,
  json,
  submit,
  waitForStatus,
} from '../interior/stack.ts';

/**
 * A signed-in user who skips genloop and talks to the database the way Supabase's REST API
 * does: `set local role authenticated` with their own claims for each request. Whatever they
 * try, they can reach only their own rows and make only the edits a browser needs.
 */

const SOURCE_TEXT = (
  'The Great Barrier Reef is the largest coral reef system in the world. It lies off the coast of Queensland. ' +
  'It is composed of over 2,900 individual reefs and 900 islands. It stretches for over 2,300 kilometres. ' +
  'The reef can be seen from outer space. It is the largest single structure made by living organisms. ' +
  'It was selected as a World Heritage Site in 1981. Climate change and coral bleaching threaten its health. '
).repeat(6);

/** Runs statements as `claims` the way PostgREST does (`set local role` plus the claims). */
const asRest = asUser;

async function request(
  stack: Stack,
  path: string,
  token: string,
  init: { method?: string; body?: unknown } = {},
): Promise<Response> {
  return stack.app.request(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** A finished flashcard generation of `userId` with its suggestions (through the API). */
async function finishedFlashcards(stack: Stack, userId: string) {
  const token = await stack.token(userId);
  const created = await request(stack, '/api/ai/generations', token, {
    method: 'POST',
    body: { source_text: SOURCE_TEXT.slice(0, 1500) },
  });
  expect(created.status).toBe(202);
  const { generation_id: generationId } = (await created.json()) as { generation_id: string };
  await eventually(async () => {
    const body = (await (
      await request(stack, `/api/ai/generations/${generationId}`, token)
    ).json()) as { status: string };
    return body.status === 'succeeded' ? body : undefined;
  }, 15_000);
  const { rows } = await stack.database.db.query<{ id: string }>(
    'select id from ai_suggestions where generation_id = $1 order by position',
    [generationId],
  );
  expect(rows.length).toBeGreaterThanOrEqual(2);
  return { token, generationId, suggestions: rows.map((row) => row.id) };
}

describeEachStack('the authenticated role through the REST API: flashcards', (use) => {
  it('cannot queue a job: no row, so nothing runs without rate limit, quota or moderation', async () => {
    const stack = use();
    const b = userClaims();
    const id = randomUUID();
    const error = await expectDbError(
      asRest(stack.database.db, b, (tx) =>
        tx.query(
          `insert into ai_generations (id, user_id, recipe, source_text) values ($1, $2, 'flashcards', $3)`,
          [id, b.sub, SOURCE_TEXT.slice(0, 1500)],
        ),
      ),
      PG.insufficientPrivilege,
    );
    expect(error.message).toMatch(/permission denied/);
    const { rows } = await stack.database.db.query('select 1 from ai_generations where id = $1', [
      id,
    ]);
    expect(rows).toEqual([]);
  });

  it("cannot put a card on A's suggestion, so A's accept still makes A's card", async () => {
    const stack = use();
    await stack.startWorker();
    const a = userClaims();
    const b = userClaims();
    const { token, generationId, suggestions } = await finishedFlashcards(stack, a.sub);
    const error = await expectDbError(
      asRest(stack.database.db, b, (tx) =>
        tx.query(
          `insert into cards (user_id, front, back, source, suggestion_id) values ($1, 'f', 'b', 'ai', $2)`,
          [b.sub, suggestions[0]],
        ),
      ),
      PG.insufficientPrivilege,
    );
    expect(error.message).toMatch(/row-level security/);
    // Nor on A's generation.
    await expectDbError(
      asRest(stack.database.db, b, (tx) =>
        tx.query(
          `insert into cards (user_id, front, back, generation_id) values ($1, 'f', 'b', $2)`,
          [b.sub, generationId],
        ),
      ),
      PG.insufficientPrivilege,
    );

    const accepted = await request(stack, `/api/ai/suggestions/${suggestions[0]}/accept`, token, {
      method: 'POST',
    });
    expect(accepted.status).toBe(201);
    const card = (await accepted.json()) as { suggestion_id: string };
    expect(card.suggestion_id).toBe(suggestions[0]);
    const { rows } = await stack.database.db.query<{ user_id: string }>(
      'select user_id from cards where suggestion_id = $1',
      [suggestions[0]],
    );
    expect(rows).toEqual([{ user_id: a.sub }]);
  });

  it('a card the owner made on their own suggestion is the one accept answers with', async () => {
    const stack = use();
    await stack.startWorker();
    const a = userClaims();
    const { token, suggestions } = await finishedFlashcards(stack, a.sub);
    const { rows } = await asRest(stack.database.db, a, (tx) =>
      tx.query<{ id: string }>(
        `insert into cards (user_id, front, back, source, suggestion_id)
         values ($1, 'mine', 'by hand', 'manual', $2) returning id`,
        [a.sub, suggestions[1]],
      ),
    );
    const accepted = await request(stack, `/api/ai/suggestions/${suggestions[1]}/accept`, token, {
      method: 'POST',
    });
    const body = (await accepted.json()) as { id: string };
    expect(accepted.status, JSON.stringify(body)).toBe(200);
    expect(body.id).toBe(rows[0]!.id);
  });

  it('may edit only the front and back of its own cards', async () => {
    const stack = use();
    const a = userClaims();
    const b = userClaims();
    const { rows } = await asRest(stack.database.db, a, (tx) =>
      tx.query<{ id: string }>(
        `insert into cards (user_id, front, back) values ($1, 'front', 'back') returning id`,
        [a.sub],
      ),
    );
    const cardId = rows[0]!.id;
    const edited = await asRest(stack.database.db, a, (tx) =>
      tx.query(`update cards set front = 'new front' where id = $1`, [cardId]),
    );
    expect(edited.rowCount).toBe(1);
    await expectDbError(
      asRest(stack.database.db, a, (tx) =>
        tx.query(`update cards set suggestion_id = $2 where id = $1`, [cardId, randomUUID()]),
      ),
      PG.insufficientPrivilege,
    );
    const byB = await asRest(stack.database.db, b, (tx) =>
      tx.query(`update cards set front = 'stolen' where id = $1`, [cardId]),
    );
    expect(byB.rowCount).toBe(0);
    const after = await stack.database.db.query('select front from cards where id = $1', [cardId]);
    expect(after.rows).toEqual([{ front: 'new front' }]);
  });

  it('cancelling its own pending job refunds the unit once, at the time the database says', async () => {
    const stack = use();
    const a = userClaims();
    const token = await stack.token(a.sub);
    const created = await request(stack, '/api/ai/generations', token, {
      method: 'POST',
      body: { source_text: SOURCE_TEXT.slice(0, 1200) },
    });
    expect(created.status).toBe(202);
    const { generation_id: id } = (await created.json()) as { generation_id: string };
    const canceled = await asRest(stack.database.db, a, (tx) =>
      tx.query(
        `update ai_generations set status = 'canceled', finished_at = '2000-01-01' where id = $1`,
        [id],
      ),
    );
    expect(canceled.rowCount).toBe(1);
    const { rows } = await stack.database.db.query<{ finished_at: Date }>(
      'select finished_at from ai_generations where id = $1',
      [id],
    );
    expect(Date.now() - rows[0]!.finished_at.getTime()).toBeLessThan(60_000);
    const ledger = await stack.database.db.query<{ kind: string; amount: number }>(
      'select kind, amount from usage_ledger where generation_id = $1 order by kind',
      [id],
    );
    expect(ledger.rows).toEqual([
      { kind: 'refund', amount: 1 },
      { kind: 'reserve', amount: -1 },
    ]);
    // genloop's own cancel of the same job changes nothing more.
    const again = await request(stack, `/api/ai/generations/${id}/cancel`, token, {
      method: 'POST',
    });
    await expectProblem(again, 409, 'not_cancelable');
    const count = await stack.database.db.query(
      'select 1 from usage_ledger where generation_id = $1',
      [id],
    );
    expect(count.rowCount).toBe(2);
  });

  it('cannot spend or reset a limit: ledger, rate limits and idempotency keys are out of reach', async () => {
    const stack = use();
    const b = userClaims();
    for (const sql of [
      `insert into usage_ledger (user_id, kind, amount, idempotency_key) values ('${b.sub}', 'grant', 1000, 'free')`,
      `delete from usage_ledger where user_id = '${b.sub}'`,
      'delete from rate_limits',
      'delete from idempotency_keys',
      `update ai_provider_configs set weight = 0`,
    ]) {
      await expectDbError(
        asRest(stack.database.db, b, (tx) => tx.query(sql)),
        PG.insufficientPrivilege,
      );
    }
  });

  it("cannot call genloop's functions, and anon can read nothing", async () => {
    const stack = use();
    await expectDbError(
      asRest(stack.database.db, userClaims(), (tx) =>
        tx.query(`select public.genloop_refresh_rollups(now() - interval '1 hour', now())`),
      ),
      PG.insufficientPrivilege,
    );
    const anonymous: Claims = { sub: randomUUID(), role: 'anon' };
    for (const table of ['ai_generations', 'cards', 'uploads', 'ai_training_examples']) {
      await expectDbError(
        asRest(stack.database.db, anonymous, (tx) => tx.query(`select 1 from ${table}`)),
        PG.insufficientPrivilege,
      );
    }
  });
});

describeEachInteriorStack('the authenticated role through the REST API: interior', (use) => {
  /** A's finished generation from one photo, and that photo's upload row. */
  async function photoOfA(stack: InteriorStack, userId: string) {
    const token = await stack.token(userId);
    const created = await submit(
      stack,
      token,
      form({ mode: 'staging', room_type: 'bedroom', quality: 'draft' }, [await photo()]),
    );
    expect(created.status).toBe(202);
    const { id } = await json(created);
    await waitForStatus(stack, token, id);
    const { rows } = await stack.database.db.query<{ id: string; path: string; bucket: string }>(
      'select id, path, bucket from uploads where generation_id = $1',
      [id],
    );
    return rows[0]!;
  }

  it("cannot record an upload naming A's photo, so genloop never signs it for B", async () => {
    const stack = use();
    await stack.startWorker();
    const a = userClaims();
    const b = userClaims();
    const upload = await photoOfA(stack, a.sub);
    expect(upload.path.startsWith(`${a.sub}/`)).toBe(true);
    const stolenId = randomUUID();
    const insertAsB = `insert into uploads (id, user_id, bucket, path, content_type, size_bytes)
                       values ($1, $2, $3, $4, 'image/jpeg', 100)`;
    await expectDbError(
      asRest(stack.database.db, b, (tx) =>
        tx.query(insertAsB, [stolenId, b.sub, upload.bucket, `${b.sub}/x/input-1.jpg`]),
      ),
      PG.insufficientPrivilege,
    );
    // However a row gets written, its path must lie under its owner's prefix.
    for (const path of [upload.path, `${b.sub}/../${upload.path}`, `${b.sub}//x.jpg`]) {
      await expectDbError(
        stack.database.db.query(insertAsB, [stolenId, b.sub, upload.bucket, path]),
        PG.checkViolation,
      );
    }
    const tokenB = await stack.token(b.sub);
    const response = await submit(stack, tokenB, {
      mode: 'redesign',
      style: 'japandi',
      upload_ids: [stolenId],
    });
    await expectProblem(response, 400, 'validation_failed', {
      field: 'body.upload_ids.0',
      code: 'not_found',
    });
    await stack.stopWorkers();
  });

  it("a job whose input names another user's photo fails before any provider call", async () => {
    const stack = use();
    await stack.startWorker();
    const a = userClaims();
    const b = userClaims();
    const upload = await photoOfA(stack, a.sub);
    const { rows } = await stack.database.db.query<{ input: Record<string, unknown> }>(
      `select input from ai_generations where user_id = $1`,
      [a.sub],
    );
    const predictionsBefore = stack.simulator.requests({
      provider: 'replicate',
      method: 'POST',
      path: /predictions$/,
    }).length;
    // A crafted row, as if it had reached the table by any route at all.
    const crafted = {
      ...rows[0]!.input,
      images: [{ upload_id: upload.id, path: upload.path }],
    };
    const jobId = randomUUID();
    await stack.database.db.query(
      `insert into ai_generations (id, user_id, recipe, mode, input) values ($1, $2, 'interior', 'redesign', $3)`,
      [jobId, b.sub, JSON.stringify(crafted)],
    );
    const failed = await eventually(async () => {
      const row = await jobRow(stack, jobId);
      return row?.status === 'failed' ? row : undefined;
    }, 15_000);
    expect(failed.error).toMatchObject({ code: 'invalid_job' });
    expect(
      stack.simulator.requests({ provider: 'replicate', method: 'POST', path: /predictions$/ })
        .length,
    ).toBe(predictionsBefore);
    await stack.stopWorkers();
  });
});
