import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { asUser, type Claims } from '../../src/db/context.ts';
import { PG } from '../../src/db/errors.ts';
import type { Db, Queryable } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { expectDbError } from '../helpers/errors.ts';
import { userClaims } from '../helpers/users.ts';

type UserOwnedTable =
  | 'ai_generations'
  | 'ai_suggestions'
  | 'cards'
  | 'uploads'
  | 'renders'
  | 'render_variants'
  | 'usage_ledger'
  | 'ai_training_examples';

/** One row id per user-owned table. */
type OwnedRows = Record<UserOwnedTable, string>;

/**
 * What the schema grants `authenticated` on each table: an operation without a grant fails with
 * "permission denied"; a granted one is filtered by the row-level security policies.
 */
interface TableCase {
  table: UserOwnedTable;
  /** A SET clause; `granted` when authenticated may update these columns. */
  update: { set: string; granted: boolean };
  deleteGranted: boolean;
  /** An insert of a row owned by `owner`; `granted` when authenticated may insert at all. */
  insert: { build: (owner: string, rows: OwnedRows) => [string, unknown[]]; granted: boolean };
}

const CASES: TableCase[] = [
  {
    table: 'ai_generations',
    update: { set: `status = 'canceled', finished_at = now()`, granted: true },
    deleteGranted: false,
    insert: {
      // Jobs are queued only through genloop, which applies rate limits, quota and moderation.
      granted: false,
      build: (owner) => [
        `insert into ai_generations (user_id, recipe) values ($1, 'site')`,
        [owner],
      ],
    },
  },
  {
    table: 'ai_suggestions',
    update: { set: `front = 'changed by someone else'`, granted: true },
    deleteGranted: false,
    insert: {
      granted: false,
      build: (owner, rows) => [
        `insert into ai_suggestions (generation_id, user_id, position, front, back)
         values ($1, $2, 99, 'front', 'back')`,
        [rows.ai_generations, owner],
      ],
    },
  },
  {
    table: 'cards',
    update: { set: `front = 'changed by someone else'`, granted: true },
    deleteGranted: true,
    insert: {
      granted: true,
      build: (owner) => [
        `insert into cards (user_id, front, back) values ($1, 'front', 'back')`,
        [owner],
      ],
    },
  },
  {
    table: 'uploads',
    update: { set: `path = 'moved'`, granted: false },
    deleteGranted: true,
    insert: {
      // Uploads are recorded by genloop when it stores the photo: a row naming a path is not
      // the user's to write.
      granted: false,
      build: (owner) => [
        `insert into uploads (user_id, bucket, path, content_type, size_bytes)
         values ($1, 'uploads', $2, 'image/png', 10)`,
        [owner, `${owner}/${randomUUID()}.png`],
      ],
    },
  },
  {
    table: 'renders',
    update: { set: `style = 'changed'`, granted: false },
    deleteGranted: true,
    insert: {
      granted: false,
      build: (owner, rows) => [
        `insert into renders (user_id, generation_id, mode) values ($1, $2, 'imagine')`,
        [owner, rows.ai_generations],
      ],
    },
  },
  {
    table: 'render_variants',
    update: { set: `path = 'moved'`, granted: false },
    deleteGranted: false,
    insert: {
      granted: false,
      build: (owner, rows) => [
        `insert into render_variants (render_id, user_id, idx, bucket, path, width, height, size_bytes)
         values ($1, $2, 7, 'renders', 'x.webp', 1, 1, 1)`,
        [rows.renders, owner],
      ],
    },
  },
  {
    table: 'usage_ledger',
    update: { set: 'amount = 0', granted: false },
    deleteGranted: false,
    insert: {
      granted: false,
      build: (owner) => [
        `insert into usage_ledger (user_id, kind, amount, idempotency_key)
         values ($1, 'grant', 1000, $2)`,
        [owner, randomUUID()],
      ],
    },
  },
  {
    table: 'ai_training_examples',
    update: { set: `prompt = 'changed'`, granted: false },
    deleteGranted: false,
    insert: {
      granted: false,
      build: (owner) => [
        `insert into ai_training_examples (user_id, source) values ($1, 'manual')`,
        [owner],
      ],
    },
  },
];

const SERVICE_ONLY_TABLES = [
  'ai_provider_configs',
  'ai_eval_runs',
  'idempotency_keys',
  'rate_limits',
  'ai_provider_attempts',
];

/** Inserts one row per user-owned table for `userId`, as genloop itself (no RLS). */
async function seedRows(db: Db, userId: string): Promise<OwnedRows> {
  return db.transaction(async (tx) => {
    const one = async (sql: string, params: unknown[]) =>
      (await tx.query<{ id: string }>(sql, params)).rows[0]!.id;
    const generation = await one(
      `insert into ai_generations (user_id, recipe, input) values ($1, 'site', '{"prompt":"a bakery"}')
       returning id`,
      [userId],
    );
    const render = await one(
      `insert into renders (user_id, generation_id, mode, style) values ($1, $2, 'redesign', 'modern')
       returning id`,
      [userId, generation],
    );
    return {
      ai_generations: generation,
      renders: render,
      ai_suggestions: await one(
        `insert into ai_suggestions (generation_id, user_id, position, front, back)
         values ($1, $2, 0, 'What is RLS?', 'Row-level security') returning id`,
        [generation, userId],
      ),
      cards: await one(
        `insert into cards (user_id, front, back) values ($1, 'front', 'back') returning id`,
        [userId],
      ),
      uploads: await one(
        `insert into uploads (user_id, bucket, path, content_type, size_bytes)
         values ($1, 'uploads', $2, 'image/png', 2048) returning id`,
        [userId, `${userId}/room.png`],
      ),
      render_variants: await one(
        `insert into render_variants (render_id, user_id, idx, bucket, path, width, height, size_bytes)
         values ($1, $2, 0, 'renders', $3, 1024, 768, 4096) returning id`,
        [render, userId, `${userId}/${render}/0.webp`],
      ),
      usage_ledger: await one(
        `insert into usage_ledger (user_id, generation_id, kind, amount, idempotency_key)
         values ($1, $2, 'reserve', 1, $3) returning id`,
        [userId, generation, `reserve:${generation}`],
      ),
      ai_training_examples: await one(
        `insert into ai_training_examples (user_id, source, prompt) values ($1, 'generation', 'a bakery')
         returning id`,
        [userId],
      ),
    };
  });
}

/** The row as genloop sees it, to compare before and after another user's attempt. */
async function snapshot(db: Db, table: UserOwnedTable, id: string): Promise<unknown> {
  const { rows } = await db.query<{ row: unknown }>(
    `select to_jsonb(t) as row from ${table} t where id = $1`,
    [id],
  );
  return rows[0]?.row;
}

describeEachDriver('row-level security keeps users apart', (use) => {
  const userA = userClaims();
  const userB = userClaims();
  let rowsOfA: OwnedRows;
  let rowsOfB: OwnedRows;

  beforeAll(async () => {
    rowsOfA = await seedRows(use().db, userA.sub);
    rowsOfB = await seedRows(use().db, userB.sub);
  });

  const asA = <T>(fn: (tx: Queryable) => Promise<T>) => asUser(use().db, userA, fn);
  const asB = <T>(fn: (tx: Queryable) => Promise<T>) => asUser(use().db, userB, fn);

  it('enables row-level security on every table in the public schema', async () => {
    const { rows } = await use().db.query<{ relname: string }>(
      `select relname from pg_class
        where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')
          and not relrowsecurity
        order by relname`,
    );
    expect(rows.map((row) => row.relname)).toEqual([]);
  });

  for (const { table, update, deleteGranted, insert } of CASES) {
    describe(table, () => {
      it("user B sees only B's rows, never A's", async () => {
        const { rows } = await asB((tx) =>
          tx.query<{ id: string; user_id: string }>(`select id, user_id from ${table}`),
        );
        expect(rows.map((row) => row.id)).toEqual([rowsOfB[table]]);
        expect(rows.every((row) => row.user_id === userB.sub)).toBe(true);
        const byId = await asB((tx) =>
          tx.query(`select id from ${table} where id = $1`, [rowsOfA[table]]),
        );
        expect(byId.rows).toEqual([]);
      });

      it("user A sees A's own row", async () => {
        const { rows } = await asA((tx) => tx.query<{ id: string }>(`select id from ${table}`));
        expect(rows.map((row) => row.id)).toEqual([rowsOfA[table]]);
      });

      it(`user B cannot update A's row (${update.granted ? '0 rows' : 'permission denied'})`, async () => {
        const before = await snapshot(use().db, table, rowsOfA[table]);
        const attempt = asB((tx) =>
          tx.query(`update ${table} set ${update.set} where id = $1`, [rowsOfA[table]]),
        );
        if (update.granted) {
          expect((await attempt).rowCount).toBe(0);
        } else {
          const error = await expectDbError(attempt, PG.insufficientPrivilege);
          expect(error.message).toMatch(/permission denied/);
        }
        expect(await snapshot(use().db, table, rowsOfA[table])).toEqual(before);
      });

      it(`user B cannot delete A's row (${deleteGranted ? '0 rows' : 'permission denied'})`, async () => {
        const before = await snapshot(use().db, table, rowsOfA[table]);
        expect(before).toBeDefined();
        const attempt = asB((tx) =>
          tx.query(`delete from ${table} where id = $1`, [rowsOfA[table]]),
        );
        if (deleteGranted) {
          expect((await attempt).rowCount).toBe(0);
        } else {
          const error = await expectDbError(attempt, PG.insufficientPrivilege);
          expect(error.message).toMatch(/permission denied/);
        }
        expect(await snapshot(use().db, table, rowsOfA[table])).toEqual(before);
      });

      it("an insert carrying A's user_id fails in the database when B runs it", async () => {
        const [sql, params] = insert.build(userA.sub, rowsOfA);
        const error = await expectDbError(
          asB((tx) => tx.query(sql, params)),
          PG.insufficientPrivilege,
        );
        expect(error.message).toMatch(
          insert.granted ? /violates row-level security policy/ : /permission denied/,
        );
        const { rows } = await use().db.query<{ count: number }>(
          `select count(*)::int as count from ${table} where user_id = $1`,
          [userA.sub],
        );
        expect(rows[0]!.count).toBe(1);
      });

      if (insert.granted) {
        it('the owner may insert a row of their own', async () => {
          const owner = userClaims();
          const [sql, params] = insert.build(owner.sub, rowsOfA);
          await asUser(use().db, owner, (tx) => tx.query(sql, params));
          const { rows } = await asUser(use().db, owner, (tx) =>
            tx.query<{ user_id: string }>(`select user_id from ${table}`),
          );
          expect(rows).toEqual([{ user_id: owner.sub }]);
        });
      }
    });
  }

  describe('service-only tables', () => {
    const anonymous: Claims = { sub: randomUUID(), role: 'anon' };
    for (const table of SERVICE_ONLY_TABLES) {
      for (const [name, claims] of [
        ['authenticated', userA],
        ['anon', anonymous],
      ] as const) {
        it(`${table}: role ${name} may not read it`, async () => {
          const error = await expectDbError(
            asUser(use().db, claims, (tx) => tx.query(`select * from ${table} limit 1`)),
            PG.insufficientPrivilege,
          );
          expect(error.message).toMatch(/permission denied/);
        });
      }
    }

    it('ai_provider_configs: role authenticated may not change it', async () => {
      await expectDbError(
        asA((tx) =>
          tx.query(`update ai_provider_configs set weight = 0 where provider = 'openai'`),
        ),
        PG.insufficientPrivilege,
      );
      const { rows } = await use().db.query<{ weight: number }>(
        `select weight from ai_provider_configs where provider = 'openai' and environment = 'prod'`,
      );
      expect(rows).toEqual([{ weight: 100 }]);
    });

    it('the eval summary view is not readable by role authenticated', async () => {
      await expectDbError(
        asA((tx) => tx.query('select * from ai_eval_run_summary_v1')),
        PG.insufficientPrivilege,
      );
    });
  });

  describe('ai_generations cancel policy', () => {
    const owner = userClaims();
    const insertJob = async (status: string) => {
      const finished = status === 'pending' || status === 'running' ? null : new Date();
      const { rows } = await use().db.query<{ id: string }>(
        `insert into ai_generations (user_id, recipe, status, finished_at)
         values ($1, 'site', $2, $3) returning id`,
        [owner.sub, status, finished],
      );
      return rows[0]!.id;
    };
    const statusOf = async (id: string) =>
      (
        await use().db.query<{ status: string }>(
          'select status from ai_generations where id = $1',
          [id],
        )
      ).rows[0]!.status;

    it('the owner can cancel a pending job', async () => {
      const id = await insertJob('pending');
      const result = await asUser(use().db, owner, (tx) =>
        tx.query(
          `update ai_generations set status = 'canceled', finished_at = now() where id = $1`,
          [id],
        ),
      );
      expect(result.rowCount).toBe(1);
      expect(await statusOf(id)).toBe('canceled');
    });

    it('the owner cannot mark a job succeeded', async () => {
      const id = await insertJob('pending');
      const error = await expectDbError(
        asUser(use().db, owner, (tx) =>
          tx.query(
            `update ai_generations set status = 'succeeded', finished_at = now() where id = $1`,
            [id],
          ),
        ),
        PG.insufficientPrivilege,
      );
      expect(error.message).toMatch(/violates row-level security policy/);
      expect(await statusOf(id)).toBe('pending');
    });

    it('the owner cannot cancel a job that already finished', async () => {
      const id = await insertJob('succeeded');
      const result = await asUser(use().db, owner, (tx) =>
        tx.query(
          `update ai_generations set status = 'canceled', finished_at = now() where id = $1`,
          [id],
        ),
      );
      expect(result.rowCount).toBe(0);
      expect(await statusOf(id)).toBe('succeeded');
    });

    it('the owner cannot write the columns workers own', async () => {
      const id = await insertJob('pending');
      await expectDbError(
        asUser(use().db, owner, (tx) =>
          tx.query(`update ai_generations set output = '{"forged":true}' where id = $1`, [id]),
        ),
        PG.insufficientPrivilege,
      );
      const { rows } = await use().db.query('select output from ai_generations where id = $1', [
        id,
      ]);
      expect(rows).toEqual([{ output: null }]);
    });

    it('the owner cannot submit a job that is already running', async () => {
      await expectDbError(
        asUser(use().db, owner, (tx) =>
          tx.query(
            `insert into ai_generations (user_id, recipe, status) values ($1, 'site', 'running')`,
            [owner.sub],
          ),
        ),
        PG.insufficientPrivilege,
      );
    });
  });
});
