import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Queryable } from '../../src/db/types.ts';
import { countPrunable, pruneTelemetry } from '../../src/sql/prune.ts';
import { describeEachDriver } from '../helpers/db.ts';

const DAY = 86_400_000;
const CUTOFF_DAYS = 90;

/**
 * `old` training rows from 100 to 199 days ago and `recent` ones from 1 to 50 days ago, each
 * with two attempts; plus one old and one recent attempt whose training row does not exist.
 */
async function seed(db: Queryable, { old, recent }: { old: number; recent: number }) {
  await db.exec(`
    truncate public.ai_provider_attempts;
    delete from public.ai_training_examples;
    delete from public.ai_training_examples_hourly;
    delete from public.ai_training_examples_daily;
    delete from public.ai_training_examples_user_daily;
    delete from public.ai_training_examples_environment_hourly;`);
  await db.query(
    `with rows as (
       select gen_random_uuid() as id, now() - make_interval(days => 100 + i % 100, mins => i) as at, i
         from generate_series(1, $1::int) i
       union all
       select gen_random_uuid(), now() - make_interval(days => 1 + i % 50, mins => i), i
         from generate_series(1, $2::int) i
     ),
     examples as (
       insert into public.ai_training_examples (id, source, status, request_id, selected_provider,
         route_strategy, prompt_template_version, latency_ms, fallback_used, fallback_provider,
         user_id, cost_usd, environment, created_at)
       select id, case when i % 5 = 0 then 'generation_cached' else 'generation' end,
              case when i % 7 = 0 then 'failed' else 'succeeded' end,
              gen_random_uuid(), (array['openai', 'custom', 'openrouter'])[1 + i % 3],
              'weighted', 'v1', 100 + i % 900, i % 11 = 0,
              case when i % 11 = 0 then 'custom' end, md5('user-' || i % 4)::uuid,
              case when i % 13 <> 0 then (i % 4) * 0.0015 end, 'prod', at
         from rows
       returning id, request_id, created_at
     )
     insert into public.ai_provider_attempts (training_example_id, request_id, attempt_no, provider,
       status, error_class, latency_ms, created_at)
     select e.id, e.request_id, n, 'openai', case n when 1 then 'failed' else 'succeeded' end,
            case n when 1 then 'timeout' end, 50, e.created_at
       from examples e cross join generate_series(1, 2) n`,
    [old, recent],
  );
  await db.query(
    `insert into public.ai_provider_attempts (training_example_id, request_id, attempt_no, provider,
       status, latency_ms, created_at)
     values ($1, gen_random_uuid(), 1, 'openai', 'succeeded', 10, now() - interval '120 days'),
            ($2, gen_random_uuid(), 1, 'openai', 'succeeded', 10, now() - interval '3 days')`,
    [randomUUID(), randomUUID()],
  );
}

async function rollups(db: Queryable) {
  const hourly = await db.query(
    `select * from public.ai_training_examples_hourly
      order by bucket_start, selected_provider, route_strategy, source`,
  );
  const daily = await db.query(
    `select * from public.ai_training_examples_daily
      order by bucket_start, selected_provider, route_strategy, source`,
  );
  const users = await db.query(
    'select * from public.ai_training_examples_user_daily order by bucket_start, user_id',
  );
  const environments = await db.query(
    'select * from public.ai_training_examples_environment_hourly order by bucket_start, environment',
  );
  return JSON.stringify({
    hourly: hourly.rows,
    daily: daily.rows,
    users: users.rows,
    environments: environments.rows,
  });
}

async function counts(db: Queryable) {
  const { rows } = await db.query<Record<string, number>>(
    `select
       (select count(*) from public.ai_training_examples where created_at < now() - interval '90 days')::int as old_examples,
       (select count(*) from public.ai_training_examples where created_at >= now() - interval '90 days')::int as recent_examples,
       (select count(*) from public.ai_provider_attempts)::int as attempts,
       (select count(*) from public.ai_provider_attempts a
         where not exists (select 1 from public.ai_training_examples e where e.id = a.training_example_id))::int as orphans`,
  );
  return rows[0]!;
}

const cutoff = () => new Date(Date.now() - CUTOFF_DAYS * DAY);

describeEachDriver('genloop db prune', (use) => {
  beforeEach(async () => {
    await seed(use().db, { old: 60, recent: 40 });
  });

  it('deletes old training rows and their attempts, keeps recent ones and leaves no orphan', async () => {
    const { db } = use();
    const totals = await pruneTelemetry(db, { cutoff: cutoff(), batchSize: 5000 });
    expect(totals).toEqual({ trainingExamples: 60, providerAttempts: 121 });
    expect(await counts(db)).toEqual({
      old_examples: 0,
      recent_examples: 40,
      attempts: 81,
      // The recent attempt seeded without a training row is kept: only old ones go.
      orphans: 1,
    });
  });

  it('leaves every rollup (spend per user, cache hits per environment) exactly as it was', async () => {
    const { db } = use();
    const before = await rollups(db);
    const seeded = await db.query<Record<string, boolean>>(
      `select (select sum(cost_usd) > 0 from public.ai_training_examples_hourly) as hourly_cost,
              (select sum(cost_usd) > 0 from public.ai_training_examples_user_daily) as user_cost,
              (select sum(cached_count) > 0
                 from public.ai_training_examples_environment_hourly) as cached`,
    );
    expect(seeded.rows[0]).toEqual({ hourly_cost: true, user_cost: true, cached: true });
    await pruneTelemetry(db, { cutoff: cutoff(), batchSize: 7 });
    expect(await rollups(db)).toBe(before);
    const { rows } = await db.query<{ total: number }>(
      `select sum(total_count)::int as total from public.ai_training_examples_daily`,
    );
    expect(rows[0]!.total).toBe(100);
  });

  it('a delete outside the pruner still comes off the rollups', async () => {
    const { db } = use();
    await db.query(
      `delete from public.ai_training_examples where created_at < now() - interval '90 days'`,
    );
    const { rows } = await db.query<{ total: number; users: number; generations: number }>(
      `select (select sum(total_count) from public.ai_training_examples_daily)::int as total,
              (select sum(total_count) from public.ai_training_examples_user_daily)::int as users,
              (select sum(generation_count)
                 from public.ai_training_examples_environment_hourly)::int as generations`,
    );
    expect(rows[0]).toEqual({ total: 40, users: 40, generations: 40 });
  });

  it('a dry run counts what would go and deletes nothing', async () => {
    const { db } = use();
    const before = await counts(db);
    expect(await countPrunable(db, cutoff())).toEqual({
      trainingExamples: 60,
      providerAttempts: 121,
    });
    expect(await counts(db)).toEqual(before);
  });

  it('batches much smaller than the data still delete all of it, reporting each batch', async () => {
    const { db } = use();
    const progress: number[] = [];
    const totals = await pruneTelemetry(db, {
      cutoff: cutoff(),
      batchSize: 7,
      onProgress: (running) => progress.push(running.trainingExamples),
    });
    expect(totals.trainingExamples).toBe(60);
    expect(progress.length).toBeGreaterThanOrEqual(9);
    expect((await counts(db)).old_examples).toBe(0);
  });
});

describe('genloop db prune refuses bad input with one line and exit 1', () => {
  async function run(argv: string[]) {
    let stderr = '';
    const code = await main(argv, {
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' },
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
    });
    return { code, stderr };
  }

  for (const bad of ['90', 'abc', '0d', '-5d', '1.5d', '30m', '90y', '99999999d', '']) {
    it(`--older-than "${bad}"`, async () => {
      const result = await run(['db', 'prune', '--older-than', bad]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^genloop: --older-than/);
    });
  }

  it('--batch-size 0', async () => {
    const result = await run(['db', 'prune', '--older-than', '90d', '--batch-size', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^genloop: --batch-size/);
  });
});
