import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import type {
  Environments,
  EvalPage,
  EvalRunDetail,
  EvalTrend,
  GenerationDetail,
  GenerationPage,
  Jobs,
  Overview,
  Providers,
  RolloutPage,
} from '../../src/console/contract.ts';
import { writeLogEntry } from '../../src/rollout/log.ts';
import { expectProblem } from '../helpers/errors.ts';
import { describeEachWith, eventually } from '../helpers/stack.ts';
import {
  admin,
  type Caller,
  insertEvalRun,
  insertExample,
  insertJob,
  ok,
  startAdminStack,
} from './admin-fixtures.ts';

/** Every admin endpoint, with a request each caller can make. */
const ENDPOINTS: { method: string; path: string; body?: unknown }[] = [
  { method: 'GET', path: '/overview' },
  { method: 'GET', path: '/generations' },
  { method: 'GET', path: `/generations/${randomUUID()}` },
  { method: 'GET', path: '/jobs' },
  { method: 'POST', path: `/jobs/${randomUUID()}/retry` },
  { method: 'POST', path: `/jobs/${randomUUID()}/cancel` },
  { method: 'GET', path: '/providers' },
  { method: 'PATCH', path: '/providers/nowhere/openai', body: { weight: 1 } },
  { method: 'GET', path: '/environments' },
  { method: 'GET', path: '/evals' },
  { method: 'GET', path: '/evals/trend' },
  { method: 'GET', path: '/evals/999999' },
  { method: 'GET', path: '/rollouts' },
  { method: 'POST', path: '/rollouts/staging/verify' },
  { method: 'GET', path: '/canary' },
  { method: 'GET', path: '/spend' },
];

const HOUR = 3_600_000;

describeEachWith('admin API: reading', startAdminStack, (use) => {
  // One user's telemetry, spread over strategies, providers and time, for filters and paging.
  const user = randomUUID();
  const seeded: string[] = [];
  const base = Date.now() - 30 * 60_000;
  let jobId = '';

  beforeAll(async () => {
    const { db } = use().database;
    jobId = (await insertJob(db, { userId: user, status: 'succeeded' })).id;
    const seeds = [
      { selectedProvider: 'openai', routeStrategy: 'fallback', generationId: jobId },
      { selectedProvider: 'custom', routeStrategy: 'weighted', fallbackProvider: 'custom' },
      { selectedProvider: 'custom', routeStrategy: 'weighted', status: 'failed' as const },
      { selectedProvider: 'openrouter', routeStrategy: 'single_provider', recipe: 'gateway' },
      { selectedProvider: 'openai', routeStrategy: 'fallback', source: 'generation_cached' },
      { selectedProvider: 'openai', routeStrategy: 'fallback', source: 'import' },
      // Same instant as the previous row: the id breaks the tie, so paging still sees both.
      { selectedProvider: 'openai', routeStrategy: 'fallback', createdAt: new Date(base + 5_000) },
    ];
    for (const [index, seed] of seeds.entries()) {
      const createdAt = seed.createdAt ?? new Date(base + index * 1_000);
      seeded.push(
        await insertExample(db, { userId: user, latencyMs: 100 * (index + 1), ...seed, createdAt }),
      );
    }
  });

  it('lets the service role and API keys in, refuses user tokens with 403 and no data, and asks for a token', async () => {
    const stack = use();
    for (const endpoint of ENDPOINTS) {
      const call = (as: Caller) =>
        admin(stack, endpoint.path, { method: endpoint.method, body: endpoint.body, as });
      for (const as of ['service', 'api_key'] as const) {
        const response = await call(as);
        expect([200, 404], `${endpoint.method} ${endpoint.path} as ${as}`).toContain(
          response.status,
        );
      }
      const refused = await expectProblem(await call('user'), 403, 'forbidden');
      expect(Object.keys(refused).sort()).toEqual([
        'code',
        'request_id',
        'status',
        'title',
        'type',
      ]);
      await expectProblem(await call('none'), 401, 'missing_token');
    }
  });

  it('lists the admin paths in the OpenAPI document, tagged admin', async () => {
    const document = (await (await use().app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    const adminPaths = Object.keys(document.paths).filter((path) =>
      path.startsWith('/api/v1/admin/'),
    );
    expect(adminPaths.sort()).toEqual(
      [
        '/api/v1/admin/budgets/plans',
        '/api/v1/admin/budgets/plans/{name}',
        '/api/v1/admin/budgets/users/{user_id}',
        '/api/v1/admin/budgets/users/{user_id}/plan',
        '/api/v1/admin/canary',
        '/api/v1/admin/environments',
        '/api/v1/admin/evals',
        '/api/v1/admin/evals/trend',
        '/api/v1/admin/evals/{run_id}',
        '/api/v1/admin/generations',
        '/api/v1/admin/generations/{request_id}',
        '/api/v1/admin/jobs',
        '/api/v1/admin/jobs/{id}/cancel',
        '/api/v1/admin/jobs/{id}/retry',
        '/api/v1/admin/overview',
        '/api/v1/admin/providers',
        '/api/v1/admin/providers/{environment}/{provider}',
        '/api/v1/admin/rollouts',
        '/api/v1/admin/rollouts/{environment}/verify',
        '/api/v1/admin/sign-in',
        '/api/v1/admin/spend',
      ].sort(),
    );
    for (const path of adminPaths) {
      for (const operation of Object.values(document.paths[path]!))
        expect(operation.tags).toEqual(['admin']);
    }
  });

  it('narrows generations by each filter', async () => {
    const stack = use();
    const count = async (query: string) =>
      (await ok<GenerationPage>(await admin(stack, `/generations?user_id=${user}&${query}`))).data
        .length;
    expect(await count('')).toBe(7);
    expect(await count('provider=custom')).toBe(2);
    expect(await count('route_strategy=weighted')).toBe(2);
    expect(await count('route_strategy=single_provider&provider=openrouter')).toBe(1);
    expect(await count('status=failed')).toBe(1);
    expect(await count('fallback_used=true')).toBe(1);
    expect(await count('fallback_used=false')).toBe(6);
    expect(await count('source=generation_cached')).toBe(1);
    expect(await count('recipe=gateway')).toBe(1);
    expect(await count(`from=${new Date(base + 3_000).toISOString()}`)).toBe(4);
    expect(
      await count(
        `from=${new Date(base + 1_000).toISOString()}&to=${new Date(base + 3_000).toISOString()}`,
      ),
    ).toBe(2);
    const stranger = await admin(stack, `/generations?user_id=${randomUUID()}`);
    expect((await ok<GenerationPage>(stranger)).data).toEqual([]);
  });

  it('pages through generations newest first, each row once', async () => {
    const stack = use();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: GenerationPage = await ok<GenerationPage>(
        await admin(
          stack,
          `/generations?user_id=${user}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        ),
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((row) => row.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(seeded));
    const { rows } = await stack.database.db.query<{ id: string }>(
      'select id from ai_training_examples where user_id = $1 order by created_at desc, id desc',
      [user],
    );
    expect(seen).toEqual(rows.map((row) => row.id));
  });

  it('answers bad filter values with 400 naming the field', async () => {
    const stack = use();
    const bad = async (path: string, field: string, code = 'validation_failed') =>
      expectProblem(await admin(stack, path), 400, code, { field });
    await bad('/generations?route_strategy=round_robin', 'query.route_strategy');
    await bad('/generations?provider=anthropic', 'query.provider');
    await bad('/generations?status=running', 'query.status');
    await bad('/generations?fallback_used=maybe', 'query.fallback_used');
    await bad('/generations?user_id=not-a-uuid', 'query.user_id');
    await bad('/generations?from=yesterday', 'query.from');
    await bad(
      `/generations?from=${new Date().toISOString()}&to=${new Date(Date.now() - HOUR).toISOString()}`,
      'query.to',
    );
    await bad('/generations?limit=0', 'query.limit');
    await bad('/generations?limit=1000', 'query.limit');
    await bad('/generations?cursor=bm90LWEtY3Vyc29y', 'query.cursor', 'invalid_cursor');
    await bad('/overview?window=2h', 'query.window');
    await bad('/overview?environment=Prod!', 'query.environment');
    await bad('/jobs?limit=201', 'query.limit');
    // Job counts read the queue itself: a week is more than the console's time budget allows.
    await bad('/jobs?window=7d', 'query.window');
    await bad('/jobs?recipe=gateway', 'query.recipe');
    await bad('/jobs?cursor=%%%', 'query.cursor', 'invalid_cursor');
    await bad('/evals?cursor=abc', 'query.cursor', 'invalid_cursor');
    await bad('/evals?limit=0', 'query.limit');
    await bad('/evals/trend?runs=0', 'query.runs');
    await bad('/evals/0', 'path.run_id');
    await bad('/evals/latest', 'path.run_id');
    await bad('/rollouts?cursor=aWQ6MDE', 'query.cursor', 'invalid_cursor');
    await bad('/rollouts?environment=UPPER', 'query.environment');
    await bad('/generations/not-a-uuid', 'path.request_id');
    await bad('/providers?environment=-x', 'query.environment');
  });

  it('shows a generation that fell back with both attempts in order, and its job when it has one', async () => {
    const stack = use();
    const token = await stack.token();
    const response = await stack.app.request('/functions/v1/generate-site', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-genloop-simulate': 'openai=invalid-json',
      },
      body: JSON.stringify({ prompt: 'A bike shop in Ghent', business_name: 'Spoke' }),
    });
    expect(response.status).toBe(200);
    const { requestId } = (await response.json()) as { requestId: string };
    const detail = await eventually(async () => {
      await stack.services.telemetry.flush();
      const answer = await admin(stack, `/generations/${requestId}`);
      return answer.status === 200 ? ((await answer.json()) as GenerationDetail) : undefined;
    });
    expect(detail.generation).toMatchObject({
      request_id: requestId,
      fallback_used: true,
      selected_provider: 'custom',
      prompt_template_version: 'site-v1',
      status: 'succeeded',
    });
    const providers = detail.attempts.map((attempt) => attempt.provider);
    expect(providers[0]).toBe('openai');
    expect(providers.at(-1)).toBe('custom');
    expect(detail.attempts.map((attempt) => attempt.attempt_no)).toEqual(
      detail.attempts.map((_, index) => index + 1),
    );
    expect(detail.attempts[0]).toMatchObject({
      status: 'failed',
      error_class: 'invalid_output',
      backoff_ms: null,
    });
    expect(detail.attempts.at(-1)).toMatchObject({ status: 'succeeded', error_class: null });
    for (const attempt of detail.attempts.slice(1))
      expect(attempt.backoff_ms).toBeGreaterThanOrEqual(0);
    expect(detail.job).toBeNull();

    const withJob = await ok<GenerationDetail>(await admin(stack, `/generations/${seeded[0]}`));
    expect(withJob.generation.id).toBe(seeded[0]);
    expect(withJob.job).toMatchObject({ id: jobId, status: 'succeeded', user_id: user });

    await expectProblem(await admin(stack, `/generations/${randomUUID()}`), 404, 'not_found');
  });

  it('sums the window from raw rows for 1h and from the rollups for 24h and 7d, per provider', async () => {
    const stack = use();
    const { db } = stack.database;
    await insertExample(db, {
      selectedProvider: 'custom',
      createdAt: new Date(Date.now() - 3 * HOUR),
    });
    await stack.services.telemetry.flush();
    for (const window of ['1h', '24h', '7d'] as const) {
      const overview = await ok<Overview>(await admin(stack, `/overview?window=${window}`));
      expect(overview).toMatchObject({
        window,
        environment: 'prod',
        bucket: window === '1h' ? 'minute' : 'hour',
        read_from: window === '1h' ? 'raw' : 'rollup',
      });
      const { rows } = await db.query<{ total: number; failed: number; custom: number }>(
        `select count(*)::int as total, (count(*) filter (where status = 'failed'))::int as failed,
                (count(*) filter (where selected_provider = 'custom'))::int as custom
           from ai_training_examples
          where source in ('generation', 'generation_cached') and created_at >= $1`,
        [overview.from],
      );
      const expected = rows[0]!;
      expect(overview.totals.generations, window).toBe(expected.total);
      expect(overview.totals.failed).toBe(expected.failed);
      expect(overview.totals.success_rate).toBeCloseTo(1 - expected.failed / expected.total, 5);
      expect(overview.totals.p95_latency_ms).toBeGreaterThan(0);
      const custom = overview.series.find((series) => series.provider === 'custom');
      expect(custom?.points.reduce((sum, point) => sum + point.generations, 0)).toBe(
        expected.custom,
      );
      expect(
        overview.totals.by_provider.find((entry) => entry.provider === 'custom')?.generations,
      ).toBe(expected.custom);
      const configured = await db.query<{ provider: string }>(
        `select provider from ai_provider_configs where environment = 'prod' order by provider`,
      );
      expect(overview.providers.map((provider) => provider.provider)).toEqual(
        configured.rows.map((row) => row.provider),
      );
    }
    const day = await ok<Overview>(await admin(stack, '/overview'));
    const hour = await ok<Overview>(await admin(stack, '/overview?window=1h'));
    expect(day.window).toBe('24h');
    // The row written three hours ago is in the day, not in the hour.
    expect(day.totals.generations).toBeGreaterThan(hour.totals.generations);
  });

  it('shows the cache hit rate of the environment asked for, per bucket, in every window', async () => {
    const stack = use();
    const { db } = stack.database;
    const at = (ageMs: number) => new Date(Date.now() - ageMs);
    // Staging: two cache hits of five in the last hour, one more of two five hours ago, and a
    // cache hit of another kind of row (a patch) that is not a generation.
    for (const [source, ageMs] of [
      ['generation_cached', 60_000],
      ['generation_cached', 120_000],
      ['generation', 60_000],
      ['generation', 180_000],
      ['generation', 240_000],
      ['generation_cached', 5 * HOUR],
      ['generation', 5 * HOUR],
      ['patch', 60_000],
    ] as const) {
      await insertExample(db, { source, createdAt: at(ageMs), environment: 'staging' });
    }
    await insertExample(db, { source: 'generation_cached', environment: 'qa' });
    for (const window of ['1h', '24h', '7d'] as const) {
      const { cache, from } = await ok<Overview>(
        await admin(stack, `/overview?window=${window}&environment=staging`),
      );
      const { rows } = await db.query<{ generations: number; cached: number }>(
        `select count(*)::int as generations,
                (count(*) filter (where source = 'generation_cached'))::int as cached
           from ai_training_examples
          where environment = 'staging' and source in ('generation', 'generation_cached')
            and created_at >= $1`,
        [from],
      );
      expect(rows[0]).toEqual(
        window === '1h' ? { generations: 5, cached: 2 } : { generations: 7, cached: 3 },
      );
      expect(cache).toMatchObject({ environment: 'staging', ...rows[0] });
      expect(cache.hit_rate).toBeCloseTo(rows[0]!.cached / rows[0]!.generations, 6);
      expect(cache.points.reduce((sum, point) => sum + point.cached, 0)).toBe(rows[0]!.cached);
      expect(cache.points.every((point) => point.generations > 0)).toBe(true);
      expect(cache.points.map((point) => point.bucket_start)).toEqual(
        cache.points.map((point) => point.bucket_start).sort(),
      );
    }
    const day = await ok<Overview>(await admin(stack, '/overview?environment=staging'));
    expect(day.cache.points.length).toBeGreaterThanOrEqual(2);
    const nowhere = await ok<Overview>(await admin(stack, '/overview?environment=nowhere'));
    expect(nowhere.cache).toEqual({
      environment: 'nowhere',
      generations: 0,
      cached: 0,
      hit_rate: null,
      points: [],
    });
  });

  it('shows cooldowns, the queue and the latest eval with its verdict on the overview', async () => {
    const stack = use();
    const { db } = stack.database;
    await db.query(
      `insert into ai_provider_health (provider, environment, consecutive_failures, cooldown_until, last_error_class)
       values ('custom', 'prod', 3, now() + interval '1 minute', 'server_error')
       on conflict (provider, environment) do update
         set consecutive_failures = 3, cooldown_until = excluded.cooldown_until, last_error_class = 'server_error'`,
    );
    const waiting = await insertJob(db, { status: 'pending' });
    await db.query(`update ai_generations set run_after = now() - interval '1 day' where id = $1`, [
      waiting.id,
    ]);
    const runId = await insertEvalRun(db, { status: 'failed', schemaValid: [true, false] });
    const overview = await ok<Overview>(await admin(stack, '/overview'));
    expect(overview.providers.find((provider) => provider.provider === 'custom')).toMatchObject({
      cooling_down: true,
      consecutive_failures: 3,
      last_error_class: 'server_error',
    });
    expect(
      overview.providers.find((provider) => provider.provider === 'openai')?.cooling_down,
    ).toBe(false);
    expect(overview.jobs.waiting).toBeGreaterThanOrEqual(1);
    expect(overview.jobs.oldest_waiting?.id).toBe(waiting.id);
    expect(overview.latest_eval).toMatchObject({
      run_id: runId,
      status: 'failed',
      schema_valid_rate: 0.5,
      failed_gates: [
        { gate: 'schema_valid_rate_min', metric: 'schema_valid_rate', threshold: 0.9, value: 0.5 },
      ],
    });
    // Another environment's cooldowns are its own.
    const staging = await ok<Overview>(await admin(stack, '/overview?environment=qa'));
    expect(staging.providers).toEqual([]);
    await db.query(
      `delete from ai_provider_health where provider = 'custom' and environment = 'prod'`,
    );
    await db.query(
      `update ai_generations set status = 'canceled', finished_at = now() where id = $1`,
      [waiting.id],
    );
  });

  it('counts jobs by recipe and status and pages the failed ones with their error', async () => {
    const stack = use();
    const { db } = stack.database;
    const failed: string[] = [];
    for (let index = 0; index < 5; index++) {
      const status = index === 4 ? 'timed_out' : 'failed';
      const finishedAt = new Date(Date.now() - index * 60_000);
      failed.push((await insertJob(db, { recipe: 'interior', status, finishedAt })).id);
    }
    await insertJob(db, { recipe: 'interior', status: 'canceled' });
    const jobs = await ok<Jobs>(await admin(stack, '/jobs?recipe=interior&limit=2'));
    const { rows } = await db.query<{ recipe: string; status: string; count: number }>(
      `select recipe, status, count(*)::int as count from ai_generations
        where created_at >= now() - interval '25 hours' group by 1, 2 order by 1, 2`,
    );
    expect(jobs.counts).toEqual(rows);
    expect(jobs.failed.data.map((job) => job.id)).toEqual(failed.slice(0, 2));
    expect(jobs.failed.data[0]?.error).toMatchObject({ code: 'provider_failed' });
    const seen = [...jobs.failed.data.map((job) => job.id)];
    let cursor = jobs.failed.next_cursor;
    while (cursor) {
      const page: Jobs = await ok<Jobs>(
        await admin(stack, `/jobs?recipe=interior&limit=2&cursor=${cursor}`),
      );
      seen.push(...page.failed.data.map((job) => job.id));
      cursor = page.failed.next_cursor;
    }
    expect(seen).toEqual(failed);
    const site = await ok<Jobs>(await admin(stack, '/jobs?recipe=site'));
    expect(site.failed.data.every((job) => job.recipe === 'site')).toBe(true);
  });

  it('lists providers per environment with their health, and the environments', async () => {
    const stack = use();
    const { db } = stack.database;
    await db.query(
      `insert into ai_provider_attempts (request_id, attempt_no, provider, status, error_class, latency_ms, training_example_id)
       select gen_random_uuid(), 1, 'openrouter', s, case when s = 'failed' then 'server_error' end, 200, gen_random_uuid()
         from unnest(array['failed', 'succeeded', 'succeeded', 'succeeded']) as s`,
    );
    const providers = await ok<Providers>(await admin(stack, '/providers'));
    expect(providers.environment).toBe('prod');
    expect(providers.route_strategy).toBe('fallback');
    expect(providers.providers[0]).toMatchObject({
      provider: 'openai',
      is_default: true,
      enabled: true,
    });
    const openrouter = providers.providers.find((row) => row.provider === 'openrouter');
    expect(openrouter?.health.attempts_1h).toBeGreaterThanOrEqual(4);
    expect(openrouter?.health.error_rate_1h).toBeGreaterThan(0);
    expect(openrouter?.health.p95_latency_ms_1h).toBe(200);

    await db.query(
      `insert into ai_provider_configs (provider, environment, enabled, is_default, weight, metadata)
       values ('custom', 'qa', true, true, 100, '{"route_strategy": "weighted"}')`,
    );
    const qa = await ok<Providers>(await admin(stack, '/providers?environment=qa'));
    expect(qa).toMatchObject({ environment: 'qa', route_strategy: 'weighted' });
    expect(qa.providers.map((row) => row.provider)).toEqual(['custom']);
    const environments = await ok<Environments>(await admin(stack, '/environments'));
    expect(environments.current).toBe('prod');
    expect(environments.environments).toContainEqual({
      environment: 'qa',
      providers: 1,
      enabled: 1,
      default_provider: 'custom',
    });
    expect(
      environments.environments.find((row) => row.environment === 'prod')?.default_provider,
    ).toBe('openai');
  });

  it('lists eval runs with their verdicts, pages them, shows one run, and the trend of each metric', async () => {
    const stack = use();
    const { db } = stack.database;
    const runs = [
      await insertEvalRun(db, {
        status: 'passed',
        schemaValid: [true, true],
        schemaVariant: 'flashcards',
      }),
      await insertEvalRun(db, {
        status: 'failed',
        schemaValid: [false, false],
        schemaVariant: 'flashcards',
      }),
      await insertEvalRun(db, {
        status: 'aborted',
        schemaValid: [true],
        schemaVariant: 'flashcards',
      }),
      await insertEvalRun(db, {
        status: 'passed',
        schemaValid: [true, true, true],
        schemaVariant: 'flashcards',
      }),
    ];
    const first = await ok<EvalPage>(await admin(stack, '/evals?limit=3'));
    expect(first.data.map((run) => run.run_id)).toEqual([...runs].reverse().slice(0, 3));
    expect(first.data[2]).toMatchObject({
      run_id: runs[1],
      status: 'failed',
      schema_valid_rate: 0,
    });
    expect(first.data[2]?.failed_gates).toEqual([
      { gate: 'schema_valid_rate_min', metric: 'schema_valid_rate', threshold: 0.9, value: 0 },
    ]);
    expect(first.data[0]?.failed_gates).toEqual([]);
    const all = [...first.data];
    let cursor = first.next_cursor;
    while (cursor) {
      const page: EvalPage = await ok<EvalPage>(
        await admin(stack, `/evals?limit=3&cursor=${cursor}`),
      );
      all.push(...page.data);
      cursor = page.next_cursor;
    }
    const { rows } = await db.query<{ id: number }>('select id from ai_eval_runs order by id desc');
    expect(all.map((run) => run.run_id)).toEqual(rows.map((row) => row.id));

    const detail = await ok<EvalRunDetail>(await admin(stack, `/evals/${runs[1]}`));
    expect(detail).toMatchObject({
      run_id: runs[1],
      thresholds: { schema_valid_rate_min: 0.9 },
      sample_count: 2,
      failed_gates: [{ gate: 'schema_valid_rate_min', value: 0 }],
    });
    await expectProblem(await admin(stack, '/evals/99999999'), 404, 'not_found');

    const trend = await ok<EvalTrend>(
      await admin(stack, '/evals/trend?runs=3&schema_variant=flashcards'),
    );
    expect(trend.metrics).toContain('p95_latency_ms');
    expect(trend.runs.map((run) => run.run_id)).toEqual([runs[0], runs[1], runs[3]]);
    expect(trend.runs.map((run) => run.schema_valid_rate)).toEqual([1, 0, 1]);
  });

  it('pages the rollout log per environment', async () => {
    const stack = use();
    const { db } = stack.database;
    const ids: number[] = [];
    for (const environment of ['staging', 'prod', 'staging', 'staging']) {
      ids.push(
        await writeLogEntry(db, {
          environment,
          action: 'note',
          operator: 'alice',
          status: 'info',
          notes: 'n',
        }),
      );
    }
    const staging = ids.filter((_, index) => index !== 1).reverse();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: RolloutPage = await ok<RolloutPage>(
        await admin(
          stack,
          `/rollouts?environment=staging&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        ),
      );
      expect(page.data.every((entry) => entry.environment === 'staging')).toBe(true);
      seen.push(...page.data.map((entry) => entry.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.slice(0, 3)).toEqual(staging);
    const everything = await ok<RolloutPage>(await admin(stack, '/rollouts?limit=200'));
    expect(everything.data.map((entry) => entry.id)).toEqual(expect.arrayContaining([ids[1]]));
    expect(everything.next_cursor).toBeNull();
  });
});
