import { randomUUID } from 'node:crypto';
import { assembleGenloop } from '../../src/app.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { SignInCode } from '../../src/console/sign-in-code.ts';
import type { Db } from '../../src/db/types.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { createTestDatabase, type DriverName } from '../helpers/db.ts';
import { FAST_SERVICE_OPTIONS, TEST_JWT_SECRET, testToken } from '../helpers/stack.ts';

/** A key of GENLOOP_API_KEYS on the console's test server. */
export const CONSOLE_API_KEY = 'console-browser-test-key-0123456789abcdef';

/** Rows one request of the generations list searches on the test server. */
export const CONSOLE_SEARCH_ROWS = 40;

/** genloop serving its console on a real port, as `genloop serve` does, on a test database. */
export interface ConsoleServer {
  driver: DriverName;
  url: string;
  db: Db;
  /** The one-time code of this server's console link. */
  signInCode: SignInCode;
  serviceToken(): Promise<string>;
  userToken(): Promise<string>;
  /**
   * One chat completion through the gateway as a user, with simulator faults when given
   * (`openai=error:503` makes it fall back), through the exact response cache when `cache` is
   * set; returns its request id once its telemetry is written.
   */
  generate(faults?: string, options?: { cache?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** Starts genloop with a simulator, an API key and a console sign-in code, on its own database. */
export async function startConsoleServer(driver: DriverName): Promise<ConsoleServer> {
  const database = await createTestDatabase(driver);
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0 });
  const config = resolveConfig({
    env: {
      GENLOOP_JWT_SECRET: TEST_JWT_SECRET,
      GENLOOP_SIMULATOR: 'on',
      GENLOOP_LOG_LEVEL: 'silent',
      GENLOOP_API_KEYS: CONSOLE_API_KEY,
      // A few hours of the seeded day per request: the generations list then searches rare
      // filters in steps, as it does on a large table.
      GENLOOP_CONSOLE_SEARCH_ROWS: String(CONSOLE_SEARCH_ROWS),
    },
  });
  const signInCode = new SignInCode();
  const genloop = await assembleGenloop(config, database.db, createLogger(config), {
    services: { simulatorUrl: simulator.url, ...FAST_SERVICE_OPTIONS },
    interior: false,
    signInCode,
  });
  let server: RunningServer;
  try {
    server = await startServer(genloop.app, { host: '127.0.0.1', port: 0 });
  } catch (error) {
    await genloop.close();
    await simulator.close();
    await database.dispose();
    throw error;
  }
  const user = randomUUID();

  return {
    driver,
    url: server.url,
    db: database.db,
    signInCode,
    serviceToken: () => testToken(randomUUID(), 'service_role'),
    userToken: () => testToken(user),
    async generate(faults, { cache = false } = {}) {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await testToken(user)}`,
          'content-type': 'application/json',
          ...(faults ? { 'x-genloop-simulate': faults } : {}),
          ...(cache ? { 'x-genloop-cache': 'exact' } : {}),
        },
        body: JSON.stringify({
          model: 'default',
          messages: [{ role: 'user', content: 'Suggest a name for a bakery in Hobart' }],
        }),
      });
      await response.arrayBuffer();
      const requestId = response.headers.get('x-request-id');
      if (!requestId)
        throw new Error(`the gateway answered ${response.status} without a request id`);
      await genloop.services.telemetry.flush();
      return requestId;
    },
    async close() {
      await server.close();
      await genloop.close();
      await simulator.close();
      await database.dispose();
    },
  };
}

/**
 * A day of telemetry as generations would have written it (through the rollup triggers) in the
 * prod environment: a generation every few minutes, mostly openai, some falling back to custom,
 * a few failing, about one in seven answered by the response cache, latencies that rise and
 * fall. Deterministic, so screenshots compare between runs.
 */
export async function seedHistory(db: Db, count = 360): Promise<void> {
  await db.query(
    `insert into public.ai_training_examples
       (user_id, source, recipe, status, request_id, route_strategy, prompt_template_version,
        requested_provider, selected_provider, fallback_provider, fallback_used, latency_ms,
        model, tokens_input, tokens_output, environment, created_at)
     select gen_random_uuid(),
            case when i % 5 = 0 and i % 7 <> 0 and i % 23 <> 0 then 'generation_cached'
                 else 'generation' end,
            case when i % 3 = 0 then 'site' else 'gateway' end,
            case when i % 23 = 0 then 'failed' else 'succeeded' end,
            gen_random_uuid(), 'fallback', 'site-v3', 'openai',
            case when i % 23 = 0 then null when i % 7 = 0 then 'custom' else 'openai' end,
            case when i % 7 = 0 and i % 23 <> 0 then 'custom' end,
            i % 7 = 0 and i % 23 <> 0,
            case when i % 5 = 0 and i % 7 <> 0 and i % 23 <> 0 then 8 + i % 9
                 else (case when i % 7 = 0 then 900 else 420 end + 260 * sin(i / 9.0)
                       + (i * 37) % 180)::int end,
            'gpt-4o-mini', 200 + (i * 13) % 300, 400 + (i * 29) % 500, 'prod',
            now() - make_interval(secs => i * (86000.0 / $1))
       from generate_series(1, $1) as i`,
    [count],
  );
}

/**
 * A flashcards job in `status`, created `ageMinutes` ago, with its quota reservation (and the
 * refund of a failed one), as the queue would hold it; returns its id.
 */
export async function insertJob(
  db: Db,
  status: 'pending' | 'succeeded' | 'failed',
  { error = null, ageMinutes = 1 }: { error?: unknown; ageMinutes?: number } = {},
): Promise<string> {
  const { rows } = await db.query<{ id: string; user_id: string }>(
    `insert into public.ai_generations
       (user_id, recipe, status, attempts, max_attempts, error, source_text, created_at,
        started_at, finished_at)
     values ($1, 'flashcards', $2, case when $2 = 'pending' then 0 else 3 end, 3, $3::jsonb,
             repeat('Photosynthesis turns light into chemical energy. ', 25),
             now() - make_interval(mins => $4),
             case when $2 <> 'pending' then now() - make_interval(mins => $4) end,
             case when $2 <> 'pending' then now() - make_interval(mins => $4 - 1) end)
     returning id, user_id`,
    [randomUUID(), status, error === null ? null : JSON.stringify(error), ageMinutes],
  );
  const { id, user_id: userId } = rows[0]!;
  await db.query(
    `insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key)
     values ($1, $2, 'reserve', -1, $3)`,
    [userId, id, `reserve:${id}`],
  );
  if (status === 'failed') {
    await db.query(
      `insert into public.usage_ledger (user_id, generation_id, kind, amount, idempotency_key)
       values ($1, $2, 'refund', 1, $3)`,
      [userId, id, `final:${id}`],
    );
  }
  return id;
}

/** Jobs in every state the Jobs page shows; returns the ids of the failed ones. */
export async function seedJobs(db: Db): Promise<{ failed: string[]; waiting: string }> {
  const failed = [
    await insertJob(db, 'failed', {
      error: {
        code: 'provider_failed',
        message: 'every provider failed: openai 503, custom timeout',
      },
      ageMinutes: 50,
    }),
    await insertJob(db, 'failed', {
      error: { code: 'invalid_output', message: 'the cards did not match the schema' },
      ageMinutes: 20,
    }),
  ];
  for (const ageMinutes of [90, 70, 40, 30, 10]) await insertJob(db, 'succeeded', { ageMinutes });
  const waiting = await insertJob(db, 'pending', { ageMinutes: 3 });
  return { failed, waiting };
}

/**
 * Nightly eval runs over the last days, as `genloop eval nightly` ingests them: samples whose
 * schema validity and latency drift, so the trend charts have a shape; the latest run fails its
 * schema-validity gate.
 */
export async function seedEvalRuns(db: Db, runs = 8): Promise<void> {
  for (let run = 0; run < runs; run++) {
    const latest = run === runs - 1;
    const invalid = latest ? 4 : run % 3;
    await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>(
        `insert into public.ai_eval_runs
           (run_type, schema_variant, status, thresholds, started_at, finished_at, triggered_by,
            git_sha)
         values ('nightly', 'sitecraft', $1,
                 '{"schema_valid_rate_min": 0.9, "p95_latency_ms_max": 2500}'::jsonb,
                 now() - make_interval(days => $2), now() - make_interval(days => $2) + interval '2 minutes',
                 'schedule', $3)
         returning id`,
        [latest ? 'failed' : 'passed', runs - run, `a1b2c3${run}`],
      );
      await tx.query(
        `insert into public.ai_eval_samples
           (run_id, record_id, schema_valid, fallback_used, latency_ms, safety_compliant)
         select $1, 'record-' || i, i > $2, i % 5 = 0, 600 + 70 * i + 50 * $3, true
           from generate_series(1, 20) as i`,
        [rows[0]!.id, invalid, run],
      );
    });
  }
}
