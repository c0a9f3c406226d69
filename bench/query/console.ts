import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { createApp } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import type { Db } from '../../src/db/types.ts';
import { encodeCursor } from '../../src/http/cursor.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { percentile, round } from '../lib/stats.ts';
import type { Timing } from './measure.ts';

/** The operator console's target: every endpoint answers within this at p95 on 10M rows. */
export const CONSOLE_TARGET_MS = 100;
const WARM_UP_MS = 500;
const WARM_UP_MAX_RUNS = 5;

export interface ConsoleEndpoint {
  name: string;
  description: string;
  path: string;
}

export interface ConsoleResult extends Timing {
  name: string;
  description: string;
  path: string;
  /** Size of the JSON body of the last run. */
  bytes: number;
  targetMs: number;
  meetsTarget: boolean;
  /**
   * For the generations list: what the console's page does to show a full page, following
   * next_cursor while an answer is short and its search not over (once, after the timings).
   */
  fill?: { requests: number; rows: number; ms: number };
}

export interface ConsoleBench {
  /** Age of the newest telemetry row when the timings started (a reused database ages). */
  newestRowAgeS: number;
  endpoints: ConsoleResult[];
}

/**
 * Times every GET endpoint of the console's admin API on the filled database (after
 * seedConsoleTables): each is called through the Hono app `genloop serve` builds, in-process
 * with `app.request` and a service-role token, the app querying `appDb` (a pool the size of the
 * server's). The time of a call includes authentication, validation, every query and the JSON
 * body.
 */
export async function benchConsole(
  db: Db,
  appDb: Db,
  options: { runs: number; budgetMs: number },
): Promise<ConsoleBench> {
  const jwtSecret = randomBytes(32).toString('hex');
  // The app is handed its pool; the URL only makes this the configuration of a server deployment.
  const config = resolveConfig({
    env: {
      DATABASE_URL: 'postgres://bench@127.0.0.1/unused',
      GENLOOP_JWT_SECRET: jwtSecret,
      GENLOOP_LOG_LEVEL: 'silent',
    },
  });
  const app = createApp({ config, db: appDb, logger: createLogger(config) });
  const token = await new SignJWT({ role: 'service_role' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(randomUUID())
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(jwtSecret));
  const call = async (path: string): Promise<string> => {
    const response = await app.request(`/api/v1/admin${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await response.text();
    if (response.status !== 200) {
      throw new Error(`GET /api/v1/admin${path} answered ${response.status}: ${body}`);
    }
    return body;
  };

  const endpoints = await consoleEndpoints(db, call);
  const { rows } = await db.query<{ age_s: number }>(
    `select extract(epoch from now() - max(created_at))::float8 as age_s
       from public.ai_training_examples`,
  );
  const results: ConsoleResult[] = [];
  for (const endpoint of endpoints) {
    const { timing, bytes } = await timeRequest(() => call(endpoint.path), options);
    // Filled twice, the second time counted: the first reads older pages into the cache, as
    // the timings' warm-up does.
    const fill = endpoint.path.startsWith('/generations?')
      ? await fillPage(call, endpoint.path).then(() => fillPage(call, endpoint.path))
      : undefined;
    results.push({
      ...endpoint,
      ...timing,
      bytes,
      targetMs: CONSOLE_TARGET_MS,
      meetsTarget: timing.p95Ms <= CONSOLE_TARGET_MS,
      ...(fill ? { fill } : {}),
    });
    process.stderr.write(
      `  console ${endpoint.name}: p50 ${timing.p50Ms} ms, p95 ${timing.p95Ms} ms${fill && fill.requests > 1 ? ` (a full page: ${fill.rows} rows in ${fill.requests} requests, ${fill.ms} ms)` : ''}\n`,
    );
  }
  return { newestRowAgeS: Math.round(rows[0]?.age_s ?? 0), endpoints: results };
}

/**
 * The endpoints and their parameters. Values that depend on the data come from it: a generation
 * that fell back (so the detail has two attempts), the user with the most rows, a cursor half
 * way through the month, and the second page's cursor as the first page hands it out.
 */
async function consoleEndpoints(
  db: Db,
  call: (path: string) => Promise<string>,
): Promise<ConsoleEndpoint[]> {
  const { rows: fellBack } = await db.query<{ request_id: string }>(
    `select request_id from public.ai_training_examples
      where fallback_used and source = 'generation'
      order by created_at desc limit 1`,
  );
  const { rows: deep } = await db.query<{ cursor_ts: string; id: string }>(
    `select to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts,
            id
       from public.ai_training_examples
      where created_at < now() - interval '15 days'
      order by created_at desc, id desc limit 1`,
  );
  // The fill draws users with a skew (u^2 of 50 000): user 0 writes the most rows.
  const busiestUser = (await db.query<{ user_id: string }>(`select md5('user-0')::uuid as user_id`))
    .rows[0]!.user_id;
  const firstPage = JSON.parse(await call('/generations')) as { next_cursor: string | null };
  const day = 86_400_000;
  const rangeFrom = new Date(Date.now() - 10 * day).toISOString();
  const rangeTo = new Date(Date.now() - 9 * day).toISOString();
  const deepCursor = deep[0] ? encodeCursor(deep[0].cursor_ts, deep[0].id) : undefined;

  const endpoints: ConsoleEndpoint[] = [
    {
      name: 'overview 1h',
      description: 'per-minute buckets from raw rows',
      path: '/overview?window=1h',
    },
    { name: 'overview 24h', description: 'hourly buckets from the rollups', path: '/overview' },
    {
      name: 'overview 7d',
      description: 'hourly buckets from the rollups',
      path: '/overview?window=7d',
    },
    { name: 'generations', description: 'first page, no filter', path: '/generations' },
    {
      name: 'generations page 2',
      description: 'second page via next_cursor',
      path: `/generations?cursor=${firstPage.next_cursor}`,
    },
    ...(deepCursor
      ? [
          {
            name: 'generations page 15 d back',
            description: 'a page half way through the month via its cursor',
            path: `/generations?cursor=${deepCursor}`,
          },
          {
            name: 'generations provider, 15 d back',
            description: 'provider=openrouter, a page half way through the month',
            path: `/generations?provider=openrouter&cursor=${deepCursor}`,
          },
        ]
      : []),
    {
      name: 'generations provider',
      description: 'provider=openrouter (10% of rows)',
      path: '/generations?provider=openrouter',
    },
    {
      name: 'generations provider none',
      description: 'provider=replicate (no rows)',
      path: '/generations?provider=replicate',
    },
    {
      name: 'generations fallback',
      description: 'fallback_used=true (5% of rows)',
      path: '/generations?fallback_used=true',
    },
    {
      name: 'generations failed',
      description: 'status=failed (2% of rows)',
      path: '/generations?status=failed',
    },
    {
      name: 'generations strategy',
      description: 'route_strategy=single_provider',
      path: '/generations?route_strategy=single_provider',
    },
    {
      name: 'generations recipe',
      description: 'recipe=gateway (5% of rows)',
      path: '/generations?recipe=gateway',
    },
    {
      name: 'generations source none',
      description: 'source=eval (no rows)',
      path: '/generations?source=eval',
    },
    {
      name: 'generations cached',
      description: 'source=generation_cached (12% of rows)',
      path: '/generations?source=generation_cached',
    },
    {
      name: 'generations user',
      description: 'user_id of the busiest user',
      path: `/generations?user_id=${busiestUser}`,
    },
    {
      name: 'generations range',
      description: 'from/to: one day, ten days back',
      path: `/generations?from=${rangeFrom}&to=${rangeTo}`,
    },
    {
      name: 'generations provider+failed',
      description: 'provider=openrouter&status=failed',
      path: '/generations?provider=openrouter&status=failed',
    },
    {
      name: 'generations fallback+failed',
      description: 'fallback_used=true&status=failed',
      path: '/generations?fallback_used=true&status=failed',
    },
    {
      name: 'generations recipe+failed+provider',
      description: 'recipe=gateway&status=failed&provider=custom',
      path: '/generations?recipe=gateway&status=failed&provider=custom',
    },
    {
      name: 'generations 4 filters',
      description: 'recipe, source, strategy, provider: ~1 row in 6 000 matches',
      path: '/generations?recipe=gateway&source=generation_cached&route_strategy=single_provider&provider=openrouter',
    },
    {
      name: 'generations cached+fallback',
      description: 'no rows (cache hits never fall back): a pass over the fallback index',
      path: '/generations?source=generation_cached&fallback_used=true',
    },
    ...(fellBack[0]
      ? [
          {
            name: 'generation detail',
            description: 'a generation that fell back: row, two attempts',
            path: `/generations/${fellBack[0].request_id}`,
          },
        ]
      : []),
    {
      name: 'spend 1h',
      description: 'dollars per provider and top users, last hour',
      path: '/spend?window=1h',
    },
    { name: 'spend 24h', description: 'dollars per provider and top users, 24 h', path: '/spend' },
    {
      name: 'spend 7d',
      description: 'dollars per provider and top users, 7 days',
      path: '/spend?window=7d',
    },
    { name: 'jobs', description: 'counts of 24 h, queue, failed jobs', path: '/jobs' },
    { name: 'jobs 1h', description: 'counts of the last hour', path: '/jobs?window=1h' },
    {
      name: 'providers',
      description: 'configs, cooldowns, last hour of attempts',
      path: '/providers',
    },
    {
      name: 'environments',
      description: 'provider configs per environment',
      path: '/environments',
    },
    { name: 'evals', description: 'latest 20 runs with failed gates', path: '/evals' },
    { name: 'evals trend', description: 'latest 30 runs', path: '/evals/trend' },
    { name: 'rollouts', description: 'latest 50 log entries', path: '/rollouts' },
  ];
  return endpoints;
}

const PAGE = 50;

/** Follows a generations page's cursor as the console's page does until it holds 50 rows. */
async function fillPage(
  call: (path: string) => Promise<string>,
  path: string,
): Promise<{ requests: number; rows: number; ms: number }> {
  const started = performance.now();
  const base = new URL(path, 'http://bench');
  let page = JSON.parse(await call(path)) as {
    data: unknown[];
    next_cursor: string | null;
    searched_back_to: string | null;
  };
  let rows = page.data.length;
  let requests = 1;
  while (rows < PAGE && page.next_cursor && page.searched_back_to && requests < 100) {
    base.searchParams.set('cursor', page.next_cursor);
    base.searchParams.set('limit', String(PAGE - rows));
    page = JSON.parse(await call(`${base.pathname}${base.search}`));
    rows += page.data.length;
    requests++;
  }
  return { requests, rows, ms: round(performance.now() - started) };
}

/**
 * Calls `request` to warm caches (once, then until half a second has passed, at most five
 * times), then up to `runs` times more, stopping early (after at least three runs) once
 * `budgetMs` is spent.
 */
async function timeRequest(
  request: () => Promise<string>,
  options: { runs: number; budgetMs: number },
): Promise<{ timing: Timing; bytes: number }> {
  const warmStart = performance.now();
  for (let warm = 0; warm < WARM_UP_MAX_RUNS; warm++) {
    await request();
    if (performance.now() - warmStart >= WARM_UP_MS) break;
  }
  const runsMs: number[] = [];
  let bytes = 0;
  const started = performance.now();
  while (runsMs.length < options.runs) {
    const before = performance.now();
    bytes = Buffer.byteLength(await request());
    runsMs.push(round(performance.now() - before));
    if (runsMs.length >= 3 && performance.now() - started > options.budgetMs) break;
  }
  return {
    timing: {
      runsMs,
      p50Ms: round(percentile(runsMs, 0.5)),
      p95Ms: round(percentile(runsMs, 0.95)),
      minMs: Math.min(...runsMs),
    },
    bytes,
  };
}
