import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { loadMigrations } from '../../src/db/migrator.ts';
import { applyOverlay, loadOverlay } from '../../src/rollout/overlays.ts';
import {
  P0_ROLLBACK,
  SINGLE_DB_COUNTS,
  SINGLE_DB_PROVIDERS,
  STAGING_DEFAULT_COUNT,
} from '../../src/rollout/runbook-queries.ts';
import { checkDefinitions, verifyRollout } from '../../src/rollout/verify.ts';
import { createEmptyDatabase, describeEachDriver, type TestDatabase } from '../helpers/db.ts';
import { type ProviderRow, providerRows, replaceProviderRows } from './provider-rows.ts';

const failing = (result: Awaited<ReturnType<typeof verifyRollout>>) =>
  result.checks.filter((check) => !check.passed).map((check) => check.name);

const byName = (result: Awaited<ReturnType<typeof verifyRollout>>, name: string) => {
  const check = result.checks.find((candidate) => candidate.name === name);
  if (!check) throw new Error(`no check ${name}`);
  return check;
};

describeEachDriver('rollout verify', (use) => {
  let migrated: ProviderRow[] = [];
  beforeAll(async () => {
    migrated = await providerRows(use().db);
  });
  beforeEach(async () => {
    await replaceProviderRows(use().db, migrated);
  });

  it('runs the runbook checks in order, with the rows each query returned', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('staging'));
    const result = await verifyRollout(db, 'staging');
    expect(result.checks.map((check) => check.name)).toEqual([
      'preflight_tables',
      'preflight_columns',
      'provider_configs',
      'default_count',
      'defaults_per_environment',
      'eval_objects',
      'indexes',
    ]);
    expect(result.passed).toBe(true);
    expect(byName(result, 'preflight_tables').rows.map((row) => row.table_name)).toEqual([
      'ai_eval_runs',
      'ai_eval_samples',
      'ai_provider_configs',
      'ai_training_examples',
    ]);
    expect(byName(result, 'default_count').rows).toEqual([{ default_count: 1 }]);
    expect(byName(result, 'eval_objects').rows).toEqual([
      {
        ai_eval_runs: 'ai_eval_runs',
        ai_eval_samples: 'ai_eval_samples',
        ai_eval_run_summary_v1: 'ai_eval_run_summary_v1',
      },
    ]);
    // The rows go into ai_rollout_log.verification as jsonb.
    expect(JSON.parse(JSON.stringify(result.checks))).toEqual(result.checks);
  });

  it('preflight on a migrated database reports every Phase 2 object present', async () => {
    const result = await verifyRollout(use().db, 'prod', { preflight: true });
    expect(result.checks.map((check) => [check.name, check.passed, check.detail])).toEqual([
      ['preflight_tables', true, 'all 4 present'],
      ['preflight_columns', true, '26 of 26 Phase 2 columns present'],
    ]);
  });

  it('single_db runs the single-DB verify queries verbatim', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('single_db'));
    const result = await verifyRollout(db, 'single_db');
    expect(failing(result)).toEqual([]);
    expect(byName(result, 'provider_configs').sql).toBe(SINGLE_DB_PROVIDERS);
    expect(byName(result, 'single_db_counts').sql).toBe(SINGLE_DB_COUNTS);
    expect(byName(result, 'single_db_counts').rows).toEqual([
      { prod_default_count: 1, non_prod_enabled_count: 0 },
    ]);
  });

  it('prod counts defaults in prod (the staging query with prod)', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('prod'));
    const sql = checkDefinitions('prod').find((check) => check.name === 'default_count')!.sql;
    expect(sql).toBe(STAGING_DEFAULT_COUNT.replace(`= 'staging'`, `= 'prod'`));
    expect(checkDefinitions('staging').find((c) => c.name === 'default_count')!.sql).toBe(
      STAGING_DEFAULT_COUNT,
    );
    const result = await verifyRollout(db, 'prod');
    expect(failing(result)).toEqual([]);
    // Staging has no rows in this database, and its checks say so.
    expect(failing(await verifyRollout(db, 'staging'))).toEqual([
      'provider_configs',
      'default_count',
    ]);
  });

  it('fails default_count and defaults_per_environment when the default row is deleted', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('staging'));
    await db.query(
      `delete from ai_provider_configs where environment = 'staging' and provider = 'openai'`,
    );
    const result = await verifyRollout(db, 'staging');
    expect(result.passed).toBe(false);
    expect(failing(result)).toEqual(['default_count', 'defaults_per_environment']);
    expect(byName(result, 'default_count').detail).toBe('default_count = 0');
    expect(byName(result, 'defaults_per_environment').detail).toBe('staging has 0 defaults');
  });

  it('fails single_db_counts when a non-prod row is enabled', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('single_db'));
    await db.query(
      `update ai_provider_configs set enabled = true where environment = 'staging' and provider = 'custom'`,
    );
    const result = await verifyRollout(db, 'single_db');
    expect(failing(result)).toEqual(['single_db_counts', 'defaults_per_environment']);
    expect(byName(result, 'single_db_counts').detail).toBe(
      'prod_default_count = 1, non_prod_enabled_count = 1',
    );
  });

  it('fails single_db_counts after the runbook P0 rollback (it enables openai in staging)', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('single_db'));
    await db.transaction((tx) => tx.query(P0_ROLLBACK));
    expect(failing(await verifyRollout(db, 'single_db'))).toEqual(['single_db_counts']);
  });

  it('names a missing provider routing index', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('prod'));
    await db.query('drop index ai_training_examples_request_id_idx');
    try {
      const result = await verifyRollout(db, 'prod');
      expect(failing(result)).toEqual(['indexes']);
      expect(byName(result, 'indexes').detail).toBe('missing: ai_training_examples_request_id_idx');
    } finally {
      await db.query(
        'create index ai_training_examples_request_id_idx on ai_training_examples (request_id)',
      );
    }
  });
});

describeEachDriver('rollout verify on a database without the Phase 2 schema', (_use, driver) => {
  let empty: TestDatabase | undefined;
  beforeAll(async () => {
    empty = await createEmptyDatabase(driver);
  });
  afterAll(async () => {
    await empty?.dispose();
  });

  it('fails every check with the reason instead of throwing', async () => {
    const result = await verifyRollout(empty!.db, 'single_db');
    expect(result.passed).toBe(false);
    expect(failing(result)).toEqual([
      'preflight_tables',
      'preflight_columns',
      'provider_configs',
      'single_db_counts',
      'defaults_per_environment',
      'eval_objects',
      'indexes',
    ]);
    expect(byName(result, 'preflight_tables').detail).toBe(
      'missing: ai_eval_runs, ai_eval_samples, ai_provider_configs, ai_training_examples',
    );
    expect(byName(result, 'provider_configs').detail).toMatch(
      /^query failed: relation "public.ai_provider_configs" does not exist/,
    );
    expect(byName(result, 'eval_objects').detail).toBe(
      'missing: ai_eval_runs, ai_eval_samples, ai_eval_run_summary_v1',
    );
  });

  it('preflight fails without the Phase 1 table, and passes once it exists', async () => {
    const { db } = empty!;
    const before = await verifyRollout(db, 'staging', { preflight: true });
    expect(before.preflight).toBe(true);
    expect(failing(before)).toEqual(['preflight_tables', 'preflight_columns']);

    const phase1 = loadMigrations().find(
      (migration) => migration.name === 'phase1_training_examples',
    );
    await db.exec(phase1!.sql);
    const after = await verifyRollout(db, 'staging', { preflight: true });
    expect(failing(after)).toEqual([]);
    expect(byName(after, 'preflight_tables').detail).toBe(
      'not yet present: ai_eval_runs, ai_eval_samples, ai_provider_configs',
    );
    expect(byName(after, 'preflight_columns').detail).toBe('0 of 26 Phase 2 columns present');
  });
});
