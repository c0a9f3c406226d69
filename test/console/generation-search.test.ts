import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { searchGenerations, TIME_CURSOR_ID } from '../../src/console/api/generation-search.ts';
import { type GenerationFilters, selectHourCounts } from '../../src/console/api/sql.ts';
import type { GenerationPage } from '../../src/console/contract.ts';
import type { Queryable } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { describeEachWith, startStack } from '../helpers/stack.ts';
import { admin, ok } from './admin-fixtures.ts';

// The generations list searches a bounded share of the table per request and hands back where
// it stopped (src/console/api/generation-search.ts). Whatever the budget, following the answers
// must give exactly the rows a plain query gives, newest first, each once.
const HOUR = 3_600_000;
const BASE = Date.parse('2026-03-02T00:00:00Z');
const HOURS = 60;
/** Three rows share this instant, exactly on an hour's start. */
const BOUNDARY = new Date(BASE + 30 * HOUR);

/** mulberry32, so the rows are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const USERS = [randomUUID(), randomUUID(), randomUUID()];

/**
 * About 8 rows an hour over 60 hours, minus a quiet stretch (hours 40 to 45 have none), with
 * every filter's values mixed; cache hits never fall back, as in a real deployment. Openrouter
 * answers only in the first 12 hours, the gateway recipe only after hour 50.
 */
async function seed(db: Queryable): Promise<void> {
  const random = seeded(7);
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  const rows: Record<string, unknown>[] = [];
  for (let hour = 0; hour < HOURS; hour++) {
    if (hour >= 40 && hour < 46) continue;
    for (let n = 0; n < 8; n++) {
      const cached = random() < 0.15;
      const fellBack = !cached && random() < 0.1;
      rows.push({
        id: randomUUID(),
        user_id: pick(USERS),
        source: cached ? 'generation_cached' : pick(['generation', 'generation', 'patch']),
        recipe: hour > 50 && random() < 0.3 ? 'gateway' : pick(['site', 'flashcards']),
        status: !cached && random() < 0.15 ? 'failed' : 'succeeded',
        selected_provider: hour < 12 && random() < 0.3 ? 'openrouter' : pick(['openai', 'custom']),
        route_strategy: pick(['single_provider', 'weighted', 'fallback']),
        fallback_used: fellBack,
        created_at: new Date(BASE + hour * HOUR + Math.floor(random() * HOUR)).toISOString(),
      });
    }
  }
  for (let n = 0; n < 3; n++) {
    rows.push({
      id: randomUUID(),
      user_id: USERS[0],
      source: 'generation',
      recipe: 'site',
      status: 'failed',
      selected_provider: 'custom',
      route_strategy: 'weighted',
      fallback_used: false,
      created_at: BOUNDARY.toISOString(),
    });
  }
  await db.query(
    `insert into ai_training_examples
       (id, user_id, source, recipe, status, request_id, selected_provider, route_strategy,
        fallback_used, fallback_provider, prompt_template_version, latency_ms, created_at)
     select id, user_id, source, recipe, status, gen_random_uuid(), selected_provider,
            route_strategy, fallback_used, case when fallback_used then 'openai' end, 'v1', 100,
            created_at
       from jsonb_to_recordset($1::jsonb) as x(
         id uuid, user_id uuid, source text, recipe text, status text, selected_provider text,
         route_strategy text, fallback_used boolean, created_at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

/** Every matching row, newest first, by one plain query. */
async function expected(db: Queryable, filters: GenerationFilters): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from ai_training_examples
      where ($1::text is null or selected_provider = $1)
        and ($2::text is null or route_strategy = $2)
        and ($3::text is null or status = $3)
        and ($4::boolean is null or fallback_used = $4)
        and ($5::text is null or source = $5)
        and ($6::text is null or recipe = $6)
        and ($7::uuid is null or user_id = $7)
        and ($8::timestamptz is null or created_at >= $8)
        and ($9::timestamptz is null or created_at < $9)
      order by created_at desc, id desc`,
    [
      filters.provider ?? null,
      filters.route_strategy ?? null,
      filters.status ?? null,
      filters.fallback_used ?? null,
      filters.source ?? null,
      filters.recipe ?? null,
      filters.user_id ?? null,
      filters.from ?? null,
      filters.to ?? null,
    ],
  );
  return rows.map((row) => row.id);
}

/**
 * Follows the search as the route does (a full page continues after its last row, a short one
 * from where it stopped) and returns every id seen and how many requests it took.
 */
async function follow(
  db: Queryable,
  filters: GenerationFilters,
  { limit, budgetRows }: { limit: number; budgetRows: number },
): Promise<{ ids: string[]; requests: number }> {
  const ids: string[] = [];
  let after: { at: string; id: string } | undefined;
  for (let requests = 1; requests <= 500; requests++) {
    const search = await searchGenerations(db, { filters, after, limit: limit + 1, budgetRows });
    const page = search.rows.slice(0, limit);
    ids.push(...page.map((row) => row.id));
    if (search.rows.length > limit) {
      const last = page.at(-1)!;
      after = { at: last.cursor_ts, id: last.id };
    } else if (search.stoppedAt) {
      // Every row of the page is at least as new as the point where the search stopped.
      for (const row of page) {
        expect((row.created_at as Date).getTime()).toBeGreaterThanOrEqual(
          search.stoppedAt.getTime(),
        );
      }
      after = { at: search.stoppedAt.toISOString().replace('Z', '000Z'), id: TIME_CURSOR_ID };
    } else {
      return { ids, requests };
    }
  }
  throw new Error('the search did not end');
}

const COMBINATIONS: GenerationFilters[] = [
  {},
  { provider: 'openrouter' },
  { provider: 'replicate' },
  { status: 'failed' },
  { fallback_used: true },
  { fallback_used: false, status: 'succeeded' },
  { source: 'generation_cached' },
  { source: 'eval' },
  { recipe: 'gateway' },
  { recipe: 'interior' },
  { route_strategy: 'single_provider', provider: 'custom', status: 'failed' },
  { source: 'patch', recipe: 'flashcards', route_strategy: 'fallback', provider: 'openai' },
  { source: 'generation_cached', fallback_used: true },
  { provider: 'openrouter', recipe: 'gateway' },
  { status: 'failed', fallback_used: true, source: 'generation' },
  { recipe: 'gateway', source: 'generation_cached' },
  { from: new Date(BASE + 10 * HOUR + 1234).toISOString() },
  {
    provider: 'custom',
    from: new Date(BASE + 20 * HOUR).toISOString(),
    to: new Date(BASE + 47 * HOUR + 17).toISOString(),
  },
  { to: BOUNDARY.toISOString(), status: 'failed' },
  { user_id: USERS[1], status: 'failed' },
];

describeEachDriver('the bounded search of the generations list', (use) => {
  beforeAll(async () => {
    await seed(use().db);
  });

  it('gives every match once, newest first, whatever the budget and page size', async () => {
    const { db } = use();
    for (const filters of COMBINATIONS) {
      const all = await expected(db, filters);
      for (const [limit, budgetRows] of [
        [5, 20],
        [50, 1],
        [3, 100_000],
      ] as const) {
        const { ids } = await follow(db, filters, { limit, budgetRows });
        expect(ids, `${JSON.stringify(filters)} limit ${limit} budget ${budgetRows}`).toEqual(all);
      }
    }
  });

  it('keeps rows that share an instant on an hour start apart from a cursor at that instant', async () => {
    const { db } = use();
    const filters: GenerationFilters = { status: 'failed', provider: 'custom' };
    const all = await expected(db, filters);
    const atBoundary = await db.query<{ id: string }>(
      'select id from ai_training_examples where created_at = $1 order by id desc',
      [BOUNDARY],
    );
    expect(atBoundary.rows).toHaveLength(3);
    // A page that ends on the first of them: the other two follow on the next page.
    const first = atBoundary.rows[0]!.id;
    const search = await searchGenerations(db, {
      filters,
      after: { at: BOUNDARY.toISOString().replace('Z', '000Z'), id: first },
      limit: 50,
      budgetRows: 20,
    });
    const rest = all.slice(all.indexOf(first) + 1);
    expect(search.rows.map((row) => row.id)).toEqual(rest.slice(0, search.rows.length));
    expect(search.rows.slice(0, 2).map((row) => row.id)).toEqual(
      atBoundary.rows.slice(1).map((row) => row.id),
    );
  });

  it('answers at once, without reading the table, where the rollups say nothing can match', async () => {
    const { db } = use();
    for (const filters of [
      { source: 'generation_cached', fallback_used: true },
      { provider: 'replicate' },
      { source: 'eval' },
      { recipe: 'interior' },
    ] satisfies GenerationFilters[]) {
      const { ids, requests } = await follow(db, filters, { limit: 10, budgetRows: 1 });
      expect(ids).toEqual([]);
      expect(requests, JSON.stringify(filters)).toBe(1);
    }
    // Openrouter answered in the first 12 hours only: with a budget of one hour a request,
    // the search steps through those hours and never through the 48 hours after them.
    const { requests } = await follow(
      db,
      { provider: 'openrouter' },
      { limit: 1000, budgetRows: 1 },
    );
    expect(requests).toBeLessThanOrEqual(13);
  });

  it('counts an upper bound of the matches of every hour from the rollup', async () => {
    const { db } = use();
    for (const filters of COMBINATIONS.filter((entry) => !entry.user_id && !entry.recipe)) {
      const hours = await selectHourCounts(db, { filters, upTo: undefined, downTo: new Date(0) });
      const { rows } = await db.query<{ hour: Date; n: number }>(
        `select date_trunc('hour', created_at at time zone 'UTC') at time zone 'UTC' as hour,
                count(*)::int as n
           from ai_training_examples
          where id = any($1::uuid[])
          group by 1`,
        [await expected(db, { ...filters, from: undefined, to: undefined })],
      );
      const counted = new Map(hours.map((hour) => [hour.bucket_start.getTime(), hour]));
      for (const row of rows) {
        expect(counted.get(row.hour.getTime())?.matches).toBeGreaterThanOrEqual(row.n);
      }
      // An hour that may hold a match costs something to search.
      expect(hours.every((hour) => hour.matches === 0 || hour.work > 0)).toBe(true);
      // No hour of the quiet stretch is listed: it holds no row.
      expect(hours.some((hour) => hour.bucket_start.getTime() === BASE + 42 * HOUR)).toBe(false);
    }
  });
});

describeEachWith(
  'GET /api/v1/admin/generations searching in steps',
  (driver) => startStack(driver, { GENLOOP_CONSOLE_SEARCH_ROWS: '20' }),
  (use) => {
    beforeAll(async () => {
      await seed(use().database.db);
    });

    it('hands out where a short page stopped, and following next_cursor gives every match once', async () => {
      const stack = use();
      // No filter here has a partial index, so each request searches about two hours.
      const filters: GenerationFilters = {
        provider: 'custom',
        recipe: 'site',
        route_strategy: 'single_provider',
      };
      const all = await expected(stack.database.db, filters);
      expect(all.length).toBeGreaterThan(5);
      const seen: string[] = [];
      let cursor: string | null = null;
      let short = 0;
      for (let requests = 0; requests < 200; requests++) {
        const page: GenerationPage = await ok<GenerationPage>(
          await admin(
            stack,
            `/generations?provider=custom&recipe=site&route_strategy=single_provider&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
          ),
        );
        seen.push(...page.data.map((row) => row.id));
        if (page.searched_back_to !== null) {
          short++;
          expect(page.data.length).toBeLessThan(4);
          expect(page.next_cursor).not.toBeNull();
          for (const row of page.data) {
            expect(Date.parse(row.created_at)).toBeGreaterThanOrEqual(
              Date.parse(page.searched_back_to),
            );
          }
        }
        cursor = page.next_cursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual(all);
      expect(short).toBeGreaterThan(0);
    });
  },
);
