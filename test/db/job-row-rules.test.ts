import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { claimJobs, heartbeatJobs } from '../../src/sql/claim-jobs.ts';
import { finishJobs } from '../../src/sql/finish-job.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { expectDbError } from '../helpers/errors.ts';
import { insertPendingJobs } from '../helpers/jobs.ts';

/**
 * Expects the flashcard source-text rule's refusal: its trigger raises a check violation under
 * the rule's name.
 */
const expectRejectedLength = async (statement: Promise<unknown>) => {
  const error = await expectDbError(statement, '23514');
  expect(error.constraint).toBe('ai_generations_source_text_length');
};

describeEachDriver('rules of a job row', (use) => {
  const insert = (recipe: string, sourceText: string | null) =>
    use().db.query<{ id: string }>(
      `insert into ai_generations (user_id, recipe, source_text) values ($1, $2, $3) returning id`,
      [randomUUID(), recipe, sourceText],
    );
  const count = async () =>
    (await use().db.query<{ n: number }>('select count(*)::int as n from ai_generations')).rows[0]!
      .n;

  it('a flashcard source text has 1 000 to 10 000 characters, counted as characters', async () => {
    const before = await count();
    await expectRejectedLength(insert('flashcards', 'x'.repeat(999)));
    await expectRejectedLength(insert('flashcards', 'x'.repeat(10_001)));
    expect(await count()).toBe(before);

    await insert('flashcards', 'x'.repeat(1000));
    await insert('flashcards', 'x'.repeat(10_000));
    // 1 000 characters of two bytes each: within the rule (it counts characters, not bytes).
    await insert('flashcards', 'é'.repeat(1000));
    // 9 000 characters of two bytes each (18 000 bytes): within it as well.
    await insert('flashcards', 'é'.repeat(9000));
    // Other recipes carry no source text rule.
    await insert('site', 'short');
    await insert('interior', null);
    expect(await count()).toBe(before + 6);
  });

  it('an update that changes the source text or the recipe is held to the same rule', async () => {
    const { db } = use();
    const flashcards = (await insert('flashcards', 'y'.repeat(1200))).rows[0]!.id;
    const site = (await insert('site', 'brief')).rows[0]!.id;

    await expectRejectedLength(
      db.query(`update ai_generations set source_text = 'too short' where id = $1`, [flashcards]),
    );
    await expectRejectedLength(
      db.query(`update ai_generations set recipe = 'flashcards' where id = $1`, [site]),
    );
    const { rows } = await db.query<{ id: string; recipe: string; length: number }>(
      `select id, recipe, char_length(source_text) as length from ai_generations
        where id = any($1::uuid[]) order by recipe`,
      [[flashcards, site]],
    );
    expect(rows).toEqual([
      { id: flashcards, recipe: 'flashcards', length: 1200 },
      { id: site, recipe: 'site', length: 5 },
    ]);

    await db.query(`update ai_generations set source_text = repeat('z', 2000) where id = $1`, [
      flashcards,
    ]);
  });

  it('updated_at is set by the trigger unless the statement sets it', async () => {
    const { db } = use();
    const id = (await insert('flashcards', 'w'.repeat(1000))).rows[0]!.id;
    const updatedAt = async () =>
      (
        await db.query<{ updated_at: Date }>(
          'select updated_at from ai_generations where id = $1',
          [id],
        )
      ).rows[0]!.updated_at.getTime();

    await db.query(`update ai_generations set updated_at = '2020-01-01T00:00:00Z' where id = $1`, [
      id,
    ]);
    expect(await updatedAt()).toBe(Date.parse('2020-01-01T00:00:00Z'));

    const before = Date.now();
    await db.query(`update ai_generations set model = 'any-model' where id = $1`, [id]);
    expect(await updatedAt()).toBeGreaterThan(before - 60_000);

    // The same on the other touched tables, for instance a suggestion edited by its user.
    const userId = randomUUID();
    const { rows } = await db.query<{ id: string }>(
      `insert into ai_suggestions (generation_id, user_id, position, front, back, status, updated_at)
       values ($1, $2, 1, 'Q', 'A', 'proposed', '2020-01-01T00:00:00Z') returning id`,
      [id, userId],
    );
    await db.query(`update ai_suggestions set status = 'accepted' where id = $1`, [rows[0]!.id]);
    const suggestion = await db.query<{ updated_at: Date }>(
      'select updated_at from ai_suggestions where id = $1',
      [rows[0]!.id],
    );
    expect(suggestion.rows[0]!.updated_at.getTime()).toBeGreaterThan(before - 60_000);
  });

  it("the worker's claim, heartbeat and completion keep updated_at current", async () => {
    const { db } = use();
    const [id] = await insertPendingJobs(db, 1);
    // The other tests' flashcard rows are pending too: out of this claim's reach.
    await db.query(
      `update ai_generations set run_after = now() + interval '1 day'
        where status = 'pending' and id <> $1`,
      [id],
    );
    const backdate = () =>
      db.query(`update ai_generations set updated_at = '2020-01-01T00:00:00Z' where id = $1`, [id]);
    const recent = async () => {
      const { rows } = await db.query<{ updated_at: Date }>(
        'select updated_at from ai_generations where id = $1',
        [id],
      );
      return rows[0]!.updated_at.getTime() > Date.now() - 60_000;
    };

    await backdate();
    const claimed = await claimJobs(db, {
      workerId: 'rules',
      limit: 10,
      leaseMs: 30_000,
      recipes: ['flashcards'],
    });
    expect(claimed.map((job) => job.id)).toEqual([id]);
    expect(await recent()).toBe(true);

    await backdate();
    expect(await heartbeatJobs(db, { workerId: 'rules', ids: [id!], leaseMs: 30_000 })).toEqual([
      id,
    ]);
    expect(await recent()).toBe(true);

    await backdate();
    expect(await finishJobs(db, 'rules', [{ id: id!, result: { status: 'succeeded' } }])).toEqual([
      id,
    ]);
    expect(await recent()).toBe(true);
  });

  it('a prediction id is unique per provider; jobs without one are not keyed', async () => {
    const { db } = use();
    const withPrediction = (prediction: string | null) =>
      db.query(
        `insert into ai_generations (user_id, recipe, provider, provider_prediction_id)
         values ($1, 'interior', 'replicate', $2)`,
        [randomUUID(), prediction],
      );
    await withPrediction(null);
    await withPrediction(null);
    await withPrediction('pred-1');
    const duplicate = await expectDbError(withPrediction('pred-1'), '23505');
    expect(duplicate.constraint).toBe('ai_generations_prediction_key');
  });
});
