import { randomUUID } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/types.ts';
import { selectTopSpenders } from '../../src/sql/spend.ts';
import { describeEachDriver } from '../helpers/db.ts';

// The users who spent most over several days are found from the head of each day's spend list
// (src/sql/spend.ts); the answer must be the one summing every user's days gives.
const DAY = 86_400_000;
const FIRST = Date.parse('2026-04-06T00:00:00Z');

async function spend(db: Queryable, rows: { day: number; user: string; usd: number | null }[]) {
  await db.query(
    `insert into ai_training_examples
       (user_id, source, status, request_id, selected_provider, route_strategy,
        prompt_template_version, cost_usd, created_at)
     select user_id, 'generation', 'succeeded', gen_random_uuid(), 'openai', 'weighted', 'v1',
            cost_usd, created_at
       from jsonb_to_recordset($1::jsonb) as x(user_id uuid, cost_usd numeric, created_at timestamptz)`,
    [
      JSON.stringify(
        rows.map((row) => ({
          user_id: row.user,
          cost_usd: row.usd,
          created_at: new Date(FIRST + row.day * DAY + 3_600_000).toISOString(),
        })),
      ),
    ],
  );
}

/** Every user's days summed, ranked. */
async function bruteForce(db: Queryable, days: number, top: number) {
  const { rows } = await db.query<{ key: string; cost_usd: number; calls: number }>(
    `select user_id::text as key, sum(cost_usd)::double precision as cost_usd,
            count(*)::integer as calls
       from ai_training_examples
      where created_at >= $1 and created_at < $2 and cost_usd is not null and user_id is not null
      group by user_id
      order by 2 desc, 3 desc, 1
      limit $3`,
    [new Date(FIRST), new Date(FIRST + days * DAY), top],
  );
  return rows;
}

describeEachDriver('the users who spent most over several days', (use) => {
  beforeEach(async () => {
    await use().db.exec(`
      delete from ai_training_examples;
      delete from ai_training_examples_user_daily;`);
  });

  it('finds a user who was never the top spender of a day but spent most in all', async () => {
    const { db } = use();
    const [a, b, c, steady] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await spend(db, [
      { day: 0, user: a, usd: 10 },
      { day: 1, user: b, usd: 10 },
      { day: 2, user: c, usd: 10 },
      ...[0, 1, 2].map((day) => ({ day, user: steady, usd: 9 })),
    ]);
    const window = { from: new Date(FIRST), to: new Date(FIRST + 3 * DAY) };
    // One candidate a day: a, b and c; the bound (30) says someone else may have spent more.
    const top = await selectTopSpenders(db, { ...window, topUsers: 1, firstCandidates: 1 });
    expect(top).toEqual([{ key: steady, cost_usd: 27, calls: 3 }]);
    expect(await selectTopSpenders(db, { ...window, topUsers: 3, firstCandidates: 1 })).toEqual(
      await bruteForce(db, 3, 3),
    );
  });

  it('ranks as summing every user would, for skewed and for even spending', async () => {
    const { db } = use();
    const users = Array.from({ length: 60 }, () => randomUUID());
    const rows: { day: number; user: string; usd: number | null }[] = [];
    for (let day = 0; day < 4; day++) {
      for (const [index, user] of users.entries()) {
        // Skewed for the first half of the users, alike for the rest, and a few ties.
        const usd =
          index < 30 ? 1 / (index + 1) + day / 1000 : 0.01 + ((index * 7 + day) % 5) / 1000;
        if ((index + day) % 3 !== 0) rows.push({ day, user, usd: Math.round(usd * 1e6) / 1e6 });
      }
    }
    await spend(db, rows);
    for (const [days, top, firstCandidates] of [
      [4, 10, 1],
      [4, 10, 40],
      [2, 5, 2],
      [1, 60, 3],
    ] as const) {
      const window = { from: new Date(FIRST), to: new Date(FIRST + days * DAY) };
      const found = await selectTopSpenders(db, { ...window, topUsers: top, firstCandidates });
      const expected = await bruteForce(db, days, top);
      expect(found.map((row) => row.key)).toEqual(expected.map((row) => row.key));
      found.forEach((row, index) => {
        expect(row.cost_usd).toBeCloseTo(expected[index]!.cost_usd, 9);
        expect(row.calls).toBe(expected[index]!.calls);
      });
    }
  });

  it('counts no user without a priced call and answers an empty window with nobody', async () => {
    const { db } = use();
    const priced = randomUUID();
    await spend(db, [
      { day: 0, user: priced, usd: 0 },
      { day: 0, user: randomUUID(), usd: null },
    ]);
    const window = { from: new Date(FIRST), to: new Date(FIRST + DAY) };
    expect(await selectTopSpenders(db, { ...window, topUsers: 10 })).toEqual([
      { key: priced, cost_usd: 0, calls: 1 },
    ]);
    const later = { from: new Date(FIRST + 10 * DAY), to: new Date(FIRST + 11 * DAY) };
    expect(await selectTopSpenders(db, { ...later, topUsers: 10 })).toEqual([]);
  });
});
