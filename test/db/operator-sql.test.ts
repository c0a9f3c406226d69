import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';

// The SQL blocks below are the queries operators paste into the SQL editor: the 24-hour
// telemetry verification query run after a runtime deploy, and every SQL block of the Phase 2
// rollout runbook (docs/runbook.md). Do not reformat them: the point is that the operators'
// copy-paste queries run unchanged against genloop's schema.

const TELEMETRY_VERIFICATION = `select
  count(*) as total_generations,
  count(*) filter (where selected_provider is not null) as selected_provider_set,
  count(*) filter (where fallback_used = true and fallback_provider is not null) as valid_fallback_rows,
  round(avg(latency_ms) filter (where latency_ms is not null), 2) as avg_latency_ms
from public.ai_training_examples
where source in ('generation', 'generation_cached')
  and created_at >= now() - interval '24 hours';`;

const RUNBOOK_SINGLE_DB_LIST = `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries
from public.ai_provider_configs
order by environment, provider;`;

const RUNBOOK_SINGLE_DB_COUNTS = `select
  count(*) filter (where environment = 'prod' and is_default = true) as prod_default_count,
  count(*) filter (where environment <> 'prod' and enabled = true) as non_prod_enabled_count
from public.ai_provider_configs;`;

const RUNBOOK_EVAL_OBJECTS = `select
  to_regclass('public.ai_eval_runs') as ai_eval_runs,
  to_regclass('public.ai_eval_samples') as ai_eval_samples,
  to_regclass('public.ai_eval_run_summary_v1') as ai_eval_run_summary_v1;`;

const RUNBOOK_PREFLIGHT_TABLES = `select
  table_name
from information_schema.tables
where table_schema = 'public'
  and table_name in (
    'ai_training_examples',
    'ai_provider_configs',
    'ai_eval_runs',
    'ai_eval_samples'
  )
order by table_name;`;

const RUNBOOK_PREFLIGHT_COLUMNS = `select
  table_name,
  column_name,
  data_type
from information_schema.columns
where table_schema = 'public'
  and table_name in ('ai_training_examples', 'ai_provider_configs', 'ai_eval_samples')
order by table_name, ordinal_position;`;

const RUNBOOK_STAGING_LIST = `select provider, environment, enabled, is_default, weight, timeout_ms, max_retries
from public.ai_provider_configs
where environment in ('staging', 'prod')
order by environment, provider;`;

const RUNBOOK_STAGING_DEFAULT_COUNT = `select
  count(*) as default_count
from public.ai_provider_configs
where environment = 'staging'
  and is_default = true;`;

const RUNBOOK_INDEXES = `select
  indexname
from pg_indexes
where schemaname = 'public'
  and tablename in ('ai_training_examples', 'ai_provider_configs', 'ai_eval_samples')
order by tablename, indexname;`;

const RUNBOOK_P0_ROLLBACK = `begin;

update public.ai_provider_configs
set
  enabled = case when provider = 'openai' then true else false end,
  is_default = case when provider = 'openai' then true else false end,
  weight = case when provider = 'openai' then 100 else 0 end,
  updated_at = timezone('utc', now())
where environment in ('staging', 'prod');

commit;`;

const RUNBOOK_POST_ROLLBACK = `select provider, environment, enabled, is_default, weight
from public.ai_provider_configs
where environment in ('staging', 'prod')
order by environment, provider;`;

const RUNBOOK_EVAL_SUMMARY = `select *
from public.ai_eval_run_summary_v1
order by run_id desc
limit 5;`;

/** The one UPDATE statement between `begin;` and `commit;` of the P0 rollback block. */
function rollbackUpdate(): string {
  const match = /^begin;\n\n([\s\S]+;)\n\ncommit;$/.exec(RUNBOOK_P0_ROLLBACK);
  if (!match) throw new Error('the P0 rollback block is not begin; <update>; commit;');
  return match[1]!;
}

interface ProviderRow {
  provider: string;
  environment: string;
  enabled: boolean;
  is_default: boolean;
  weight: number;
}

/** The provider rows the migrations insert in prod, as the runbook listings show them. */
const SEEDED_DEFAULTS = [
  {
    provider: 'custom',
    environment: 'prod',
    enabled: true,
    is_default: false,
    weight: 0,
    timeout_ms: 30000,
    max_retries: 1,
  },
  {
    provider: 'openai',
    environment: 'prod',
    enabled: true,
    is_default: true,
    weight: 100,
    timeout_ms: 30000,
    max_retries: 2,
  },
];

/** Rows listed `order by environment, provider`, as the runbook queries list them. */
function expectListingOrder(rows: ProviderRow[]): void {
  const keys = rows.map((row) => [row.environment, row.provider] as const);
  const sorted = [...keys].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
  expect(keys).toEqual(sorted);
}

/** What the P0 rollback promises: in staging and prod, openai alone is enabled and default. */
function expectRolledBack(rows: ProviderRow[]): void {
  expectListingOrder(rows);
  for (const environment of ['prod', 'staging']) {
    const inEnvironment = rows.filter((row) => row.environment === environment);
    expect(inEnvironment.map((row) => row.provider)).toContain('openai');
    for (const row of inEnvironment) {
      const openai = row.provider === 'openai';
      expect(row, `${environment}/${row.provider}`).toEqual({
        provider: row.provider,
        environment,
        enabled: openai,
        is_default: openai,
        weight: openai ? 100 : 0,
      });
    }
  }
}

async function insertTelemetry(
  db: Db,
  row: {
    source?: string;
    selected_provider: string;
    fallback_provider?: string | null;
    fallback_used?: boolean;
    latency_ms: number | null;
    age?: string;
  },
): Promise<void> {
  await db.query(
    `insert into ai_training_examples
       (source, status, request_id, selected_provider, route_strategy, fallback_provider,
        fallback_used, latency_ms, prompt_template_version, created_at)
     values ($1, 'succeeded', $2, $3, $4, $5, $6, $7, 'site-v1', now() - $8::interval)`,
    [
      row.source ?? 'generation',
      randomUUID(),
      row.selected_provider,
      row.fallback_used ? 'fallback' : 'single_provider',
      row.fallback_provider ?? null,
      row.fallback_used ?? false,
      row.latency_ms,
      row.age ?? '5 minutes',
    ],
  );
}

describeEachDriver('telemetry verification SQL, verbatim', (use) => {
  it('counts nothing on an empty table', async () => {
    const { rows } = await use().db.query(TELEMETRY_VERIFICATION);
    expect(rows).toEqual([
      {
        total_generations: 0,
        selected_provider_set: 0,
        valid_fallback_rows: 0,
        avg_latency_ms: null,
      },
    ]);
  });

  it('gives selected_provider_set = total_generations and consistent fallback rows', async () => {
    const { db } = use();
    await insertTelemetry(db, { selected_provider: 'openai', latency_ms: 100 });
    await insertTelemetry(db, { selected_provider: 'openai', latency_ms: 200 });
    await insertTelemetry(db, {
      selected_provider: 'custom',
      fallback_used: true,
      fallback_provider: 'custom',
      latency_ms: 301,
    });
    await insertTelemetry(db, {
      source: 'generation_cached',
      selected_provider: 'openai',
      latency_ms: null,
    });
    // Outside the query: older than 24 hours, or not a generation.
    await insertTelemetry(db, { selected_provider: 'openai', latency_ms: 9999, age: '25 hours' });
    await insertTelemetry(db, { source: 'patch', selected_provider: 'openai', latency_ms: 9999 });

    const { rows } = await db.query<Record<string, number | null>>(TELEMETRY_VERIFICATION);
    expect(rows).toEqual([
      {
        total_generations: 4,
        selected_provider_set: 4,
        valid_fallback_rows: 1,
        avg_latency_ms: 200.33,
      },
    ]);
    expect(rows[0]!.selected_provider_set).toBe(rows[0]!.total_generations);
  });
});

describeEachDriver('rollout runbook SQL blocks, verbatim', (use) => {
  describe('on the freshly migrated schema', () => {
    it('single-db list shows the seeded prod rows, openai the only default', async () => {
      const { rows } = await use().db.query<ProviderRow>(RUNBOOK_SINGLE_DB_LIST);
      expectListingOrder(rows);
      for (const seeded of SEEDED_DEFAULTS) expect(rows).toContainEqual(seeded);
      expect(rows.every((row) => row.environment === 'prod')).toBe(true);
      expect(rows.filter((row) => row.is_default).map((row) => row.provider)).toEqual(['openai']);
    });

    it('single-db counts: prod_default_count = 1, non_prod_enabled_count = 0', async () => {
      const { rows } = await use().db.query(RUNBOOK_SINGLE_DB_COUNTS);
      expect(rows).toEqual([{ prod_default_count: 1, non_prod_enabled_count: 0 }]);
    });

    it('to_regclass finds the eval tables and the summary view', async () => {
      const { rows } = await use().db.query(RUNBOOK_EVAL_OBJECTS);
      expect(rows).toEqual([
        {
          ai_eval_runs: 'ai_eval_runs',
          ai_eval_samples: 'ai_eval_samples',
          ai_eval_run_summary_v1: 'ai_eval_run_summary_v1',
        },
      ]);
    });

    it('preflight lists the four Phase 2 tables', async () => {
      const { rows } = await use().db.query(RUNBOOK_PREFLIGHT_TABLES);
      expect(rows).toEqual([
        { table_name: 'ai_eval_runs' },
        { table_name: 'ai_eval_samples' },
        { table_name: 'ai_provider_configs' },
        { table_name: 'ai_training_examples' },
      ]);
    });

    it('preflight lists the routing and eval columns with their types, in table and column order', async () => {
      const { rows } = await use().db.query<{
        table_name: string;
        column_name: string;
        data_type: string;
      }>(RUNBOOK_PREFLIGHT_COLUMNS);
      const tables = rows.map((row) => row.table_name);
      expect(tables).toEqual([...tables].sort());
      const typeOf = (table: string, column: string) =>
        rows.find((row) => row.table_name === table && row.column_name === column)?.data_type;
      const expected: [string, string, string][] = [
        ['ai_training_examples', 'request_id', 'uuid'],
        ['ai_training_examples', 'requested_provider', 'text'],
        ['ai_training_examples', 'selected_provider', 'text'],
        ['ai_training_examples', 'route_strategy', 'text'],
        ['ai_training_examples', 'fallback_provider', 'text'],
        ['ai_training_examples', 'fallback_used', 'boolean'],
        ['ai_training_examples', 'latency_ms', 'integer'],
        ['ai_training_examples', 'prompt_template_version', 'text'],
        ['ai_training_examples', 'source', 'text'],
        ['ai_training_examples', 'created_at', 'timestamp with time zone'],
        ['ai_provider_configs', 'provider', 'text'],
        ['ai_provider_configs', 'environment', 'text'],
        ['ai_provider_configs', 'enabled', 'boolean'],
        ['ai_provider_configs', 'is_default', 'boolean'],
        ['ai_provider_configs', 'weight', 'integer'],
        ['ai_provider_configs', 'timeout_ms', 'integer'],
        ['ai_provider_configs', 'max_retries', 'integer'],
        ['ai_provider_configs', 'updated_at', 'timestamp with time zone'],
        ['ai_eval_samples', 'run_id', 'bigint'],
        ['ai_eval_samples', 'schema_valid', 'boolean'],
        ['ai_eval_samples', 'latency_ms', 'integer'],
      ];
      for (const [table, column, type] of expected) {
        expect(typeOf(table, column), `${table}.${column}`).toBe(type);
      }
      // The Phase 2 columns follow the Phase 1 baseline in ordinal order.
      const trainingColumns = rows
        .filter((row) => row.table_name === 'ai_training_examples')
        .map((row) => row.column_name);
      expect(trainingColumns.indexOf('request_id')).toBeGreaterThan(
        trainingColumns.indexOf('created_at'),
      );
    });

    it('staging default_count is 0 before a staging overlay', async () => {
      const { rows } = await use().db.query(RUNBOOK_STAGING_DEFAULT_COUNT);
      expect(rows).toEqual([{ default_count: 0 }]);
    });

    it('pg_indexes lists the routing and eval indexes, ordered by table and name', async () => {
      const { rows } = await use().db.query<{ indexname: string }>(RUNBOOK_INDEXES);
      const names = rows.map((row) => row.indexname);
      expect(names).toEqual(
        expect.arrayContaining([
          'ai_eval_samples_pkey',
          'ai_eval_samples_run_id_idx',
          'ai_provider_configs_one_default_per_environment',
          'ai_provider_configs_pkey',
          'ai_provider_configs_provider_environment_key',
          'ai_training_examples_pkey',
          'ai_training_examples_request_id_idx',
          'ai_training_examples_route_strategy_created_at_idx',
          'ai_training_examples_selected_provider_created_at_idx',
        ]),
      );
      const table = (name: string) =>
        ['ai_eval_samples', 'ai_provider_configs', 'ai_training_examples'].find((prefix) =>
          name.startsWith(prefix),
        );
      const tables = names.map(table);
      expect(tables.every((value) => value !== undefined)).toBe(true);
      expect(tables).toEqual([...tables].sort());
    });

    it('the eval summary lists the newest runs with the seven metrics', async () => {
      const { db } = use();
      const runIds = await db.transaction(async (tx) => {
        const ids: number[] = [];
        for (const [schemaValid, latency] of [
          [true, 100],
          [false, 300],
        ] as const) {
          const { rows } = await tx.query<{ id: number }>(
            `insert into ai_eval_runs (run_type, schema_variant, status, finished_at, thresholds)
             values ('canary', 'sitecraft', 'passed', now(), '{}') returning id`,
          );
          const id = rows[0]!.id;
          ids.push(id);
          for (let index = 0; index < 4; index++) {
            await tx.query(
              `insert into ai_eval_samples
                 (run_id, record_id, schema_valid, patch_apply_success, edit_after_generate,
                  publish_conversion, safety_compliant, fallback_used, latency_ms)
               values ($1, $2, $3, true, false, $4, true, $5, $6)`,
              [id, `record-${index}`, schemaValid, index === 0, index < 1, latency + index * 10],
            );
          }
        }
        return ids;
      });
      const { rows } = await db.query<Record<string, unknown>>(RUNBOOK_EVAL_SUMMARY);
      expect(rows.map((row) => row.run_id)).toEqual([...runIds].reverse());
      expect(rows[1]).toMatchObject({
        run_id: runIds[0],
        run_type: 'canary',
        schema_variant: 'sitecraft',
        status: 'passed',
        sample_count: 4,
        schema_valid_rate: 1,
        patch_apply_success: 1,
        edit_after_generate_rate: 0,
        publish_conversion_proxy: 0.25,
        safety_html_tailwind_compliance: 1,
        fallback_rate: 0.25,
        p95_latency_ms: 128.5,
      });
      expect(rows[0]).toMatchObject({ run_id: runIds[1], schema_valid_rate: 0, sample_count: 4 });
    });
  });

  describe('after environment overlays', () => {
    const snapshot = async () => (await use().db.query<ProviderRow>(RUNBOOK_POST_ROLLBACK)).rows;

    it('staging overlay: one staging default; single-db counts see the enabled non-prod rows', async () => {
      const { db } = use();
      await db.query(
        `insert into ai_provider_configs (provider, environment, enabled, is_default, weight)
         values ('openai', 'staging', true, true, 100), ('custom', 'staging', true, false, 0)`,
      );
      expect((await db.query(RUNBOOK_STAGING_DEFAULT_COUNT)).rows).toEqual([{ default_count: 1 }]);
      expect((await db.query(RUNBOOK_SINGLE_DB_COUNTS)).rows).toEqual([
        { prod_default_count: 1, non_prod_enabled_count: 2 },
      ]);
      const { rows } = await db.query<ProviderRow>(RUNBOOK_STAGING_LIST);
      expectListingOrder(rows);
      const listed = rows.map((row) => `${row.environment}/${row.provider}`);
      expect(listed).toEqual(expect.arrayContaining(['prod/custom', 'prod/openai']));
      expect(listed.filter((name) => name.startsWith('staging/'))).toEqual([
        'staging/custom',
        'staging/openai',
      ]);
      expect(rows.filter((row) => row.is_default).map((row) => row.environment)).toEqual([
        'prod',
        'staging',
      ]);
    });

    it('P0 rollback leaves openai the only enabled default in staging and prod', async () => {
      const { db } = use();
      // A canary that promoted custom everywhere: openai's rows are updated first, so they
      // sit before custom's and the rollback turns openai on before it turns custom off.
      await db.transaction(async (tx) => {
        await tx.query(
          `update ai_provider_configs set is_default = false, weight = 0
            where provider = 'openai' and environment in ('staging', 'prod')`,
        );
        await tx.query(
          `update ai_provider_configs set is_default = true, weight = 100
            where provider = 'custom' and environment in ('staging', 'prod')`,
        );
      });
      await db.query(
        `update ai_provider_configs set enabled = false where provider = 'openai' and environment = 'staging'`,
      );
      // A row outside staging and prod that the rollback must not touch.
      await db.query(
        `insert into ai_provider_configs (provider, environment, enabled, is_default, weight)
         values ('openrouter', 'dev', true, true, 100)`,
      );
      const before = await snapshot();
      expect(before.filter((row) => row.is_default).map((row) => row.provider)).toEqual([
        'custom',
        'custom',
      ]);

      const result = await db.transaction((tx) => tx.query(rollbackUpdate()));
      expect(result.rowCount).toBe(before.length);

      const after = await snapshot();
      expect(after.length).toBe(before.length);
      expectRolledBack(after);
      expect((await db.query(RUNBOOK_STAGING_DEFAULT_COUNT)).rows).toEqual([{ default_count: 1 }]);
      const { rows } = await db.query(
        `select provider, enabled, is_default from ai_provider_configs where environment = 'dev'`,
      );
      expect(rows).toEqual([{ provider: 'openrouter', enabled: true, is_default: true }]);
    });

    it('the whole P0 rollback block, begin to commit, runs as one script', async () => {
      const { db } = use();
      await db.query(
        `update ai_provider_configs set weight = 50, enabled = true where environment in ('staging', 'prod')`,
      );
      await db.exec(RUNBOOK_P0_ROLLBACK);
      expectRolledBack(await snapshot());
    });
  });
});
