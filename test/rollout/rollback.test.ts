import { beforeAll, beforeEach, expect, it } from 'vitest';
import { OperatorError } from '../../src/lib/errors.ts';
import { readLog } from '../../src/rollout/log.ts';
import { applyOverlay, loadOverlay } from '../../src/rollout/overlays.ts';
import { restoreRollback } from '../../src/rollout/restore.ts';
import { type RollbackSavedState, rollbackProviders } from '../../src/rollout/rollback.ts';
import { P0_ROLLBACK } from '../../src/rollout/runbook-queries.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { rejectionOf } from '../helpers/errors.ts';
import {
  type ProviderRow,
  providerRows,
  replaceProviderRows,
  routingState,
} from './provider-rows.ts';

const operator = { operator: 'oncall' };

/** Every row in `environments` is openai-only: enabled, default, 100; the rest off at 0. */
function expectP0State(rows: Awaited<ReturnType<typeof routingState>>, environments: string[]) {
  const targeted = rows.filter((row) => environments.includes(row.environment));
  expect(targeted.length).toBeGreaterThan(0);
  for (const row of targeted) {
    const openai = row.provider === 'openai';
    expect(row, `${row.provider}/${row.environment}`).toEqual({
      provider: row.provider,
      environment: row.environment,
      enabled: openai,
      is_default: openai,
      weight: openai ? 100 : 0,
    });
  }
  for (const environment of environments) {
    expect(
      targeted.some((row) => row.environment === environment && row.provider === 'openai'),
    ).toBe(true);
  }
}

describeEachDriver('P0 rollback and restore', (use) => {
  let canary: ProviderRow[] = [];
  beforeAll(async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('staging'));
    await applyOverlay(db, loadOverlay('prod'));
    // A canary in flight: custom carries traffic in both environments, and a dev environment
    // that no rollback target names.
    await db.query(`update ai_provider_configs set weight = 20 where provider = 'custom'`);
    await db.query(
      `update ai_provider_configs set enabled = true, weight = 5 where provider = 'openrouter'`,
    );
    await db.query(
      `insert into ai_provider_configs (provider, environment, enabled, is_default, weight)
       values ('custom', 'dev', true, true, 100), ('openai', 'dev', true, false, 0)`,
    );
    canary = await providerRows(db);
  });
  beforeEach(async () => {
    const { db } = use();
    await replaceProviderRows(db, canary);
    await db.query('delete from ai_rollout_log');
  });

  it('staging: openai only in staging; prod and dev untouched', async () => {
    const { db } = use();
    const result = await rollbackProviders(db, 'staging', operator);
    expect(result.environments).toEqual(['staging']);
    expectP0State(await routingState(db, ['staging']), ['staging']);
    const others = (rows: ProviderRow[]) => rows.filter((row) => row.environment !== 'staging');
    expect(others(await providerRows(db))).toEqual(others(canary));
    expect(result.after).toEqual(await routingState(db, ['staging']));
  });

  it('prod: openai only in prod; staging and dev untouched', async () => {
    const { db } = use();
    await rollbackProviders(db, 'prod', operator);
    expectP0State(await routingState(db, ['prod']), ['prod']);
    const others = (rows: ProviderRow[]) => rows.filter((row) => row.environment !== 'prod');
    expect(others(await providerRows(db))).toEqual(others(canary));
  });

  it("single_db: the runbook's where environment in ('staging', 'prod'); dev untouched", async () => {
    const { db } = use();
    const result = await rollbackProviders(db, 'single_db', operator);
    expect(result.environments).toEqual(['staging', 'prod']);
    expectP0State(await routingState(db, ['staging', 'prod']), ['staging', 'prod']);
    const dev = (rows: ProviderRow[]) => rows.filter((row) => row.environment === 'dev');
    expect(dev(await providerRows(db))).toEqual(dev(canary));
  });

  it('ends in the same state as the runbook SQL run as written', async () => {
    const { db } = use();
    await rollbackProviders(db, 'single_db', operator);
    const ours = await providerRows(db);
    await replaceProviderRows(db, canary);
    await db.transaction((tx) => tx.query(P0_ROLLBACK));
    expect(await providerRows(db)).toEqual(ours);
  });

  it('moves the default back to openai when another provider holds it', async () => {
    const { db } = use();
    await db.transaction(async (tx) => {
      await tx.query(
        `update ai_provider_configs set is_default = false where environment = 'prod' and provider = 'openai'`,
      );
      await tx.query(
        `update ai_provider_configs set is_default = true where environment = 'prod' and provider = 'custom'`,
      );
    });
    await rollbackProviders(db, 'prod', operator);
    expectP0State(await routingState(db, ['prod']), ['prod']);
  });

  it('saves the replaced rows in the rollback log entry, written in the same transaction', async () => {
    const { db } = use();
    const before = (await providerRows(db)).filter((row) => row.environment === 'prod');
    const result = await rollbackProviders(db, 'prod', {
      operator: 'oncall',
      notes: 'schema-valid drop',
    });
    const [entry] = await readLog(db, { action: 'rollback' });
    expect(entry).toMatchObject({
      id: result.logId,
      environment: 'prod',
      operator: 'oncall',
      status: 'ok',
      notes: 'schema-valid drop',
    });
    expect(entry!.finishedAt).toBeInstanceOf(Date);
    const saved = entry!.savedState as RollbackSavedState;
    expect(saved.environments).toEqual(['prod']);
    expect(saved.rows).toEqual(before);
  });

  it('restore puts back exactly the replaced rows, the moved default included', async () => {
    const { db } = use();
    // custom is the default before the rollback, so restore must move it back off openai.
    await db.transaction(async (tx) => {
      await tx.query(
        `update ai_provider_configs set is_default = false where environment = 'staging' and provider = 'openai'`,
      );
      await tx.query(
        `update ai_provider_configs set is_default = true where environment = 'staging' and provider = 'custom'`,
      );
    });
    const before = await providerRows(db);
    const rollback = await rollbackProviders(db, 'single_db', operator);
    const restored = await restoreRollback(db, 'single_db', operator);
    expect(restored.restoredFrom).toBe(rollback.logId);
    expect(await providerRows(db)).toEqual(before);
    const [entry] = await readLog(db, { action: 'restore' });
    expect(entry!.savedState).toMatchObject({ restores_log_id: rollback.logId });
  });

  it('restore re-creates a row deleted after the rollback', async () => {
    const { db } = use();
    const before = await providerRows(db);
    await rollbackProviders(db, 'staging', operator);
    await db.query(
      `delete from ai_provider_configs where environment = 'staging' and provider = 'custom'`,
    );
    await restoreRollback(db, 'staging', operator);
    expect(await providerRows(db)).toEqual(before);
  });

  it('restores stack: two rollbacks need two restores, newest first', async () => {
    const { db } = use();
    const original = await providerRows(db);
    await rollbackProviders(db, 'prod', operator);
    await db.query(
      `update ai_provider_configs set enabled = true, weight = 10 where environment = 'prod' and provider = 'custom'`,
    );
    const between = await providerRows(db);
    await rollbackProviders(db, 'prod', operator);
    await restoreRollback(db, 'prod', operator);
    expect(await providerRows(db)).toEqual(between);
    await restoreRollback(db, 'prod', operator);
    expect(await providerRows(db)).toEqual(original);
    const error = await rejectionOf(restoreRollback(db, 'prod', operator));
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toMatch(/^no rollback of prod is waiting to be restored/);
  });

  it('restore only looks at rollbacks of its own target', async () => {
    const { db } = use();
    await rollbackProviders(db, 'staging', operator);
    const error = await rejectionOf(restoreRollback(db, 'prod', operator));
    expect((error as Error).message).toMatch(/^no rollback of prod/);
  });

  it('refuses, changing nothing, when an environment has no openai row', async () => {
    const { db } = use();
    await db.query(
      `delete from ai_provider_configs where environment = 'staging' and provider = 'openai'`,
    );
    const before = await providerRows(db, { withUpdatedAt: true });
    const error = await rejectionOf(rollbackProviders(db, 'single_db', operator));
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toMatch(/^no openai row in staging/);
    expect(await providerRows(db, { withUpdatedAt: true })).toEqual(before);
    const [entry] = await readLog(db, { action: 'rollback' });
    expect(entry).toMatchObject({ status: 'failed', environment: 'single_db' });
  });

  it('is one transaction: when the log entry cannot be written, the update is undone too', async () => {
    const { db } = use();
    await db.exec(`
      create function test_refuse_rollback_log() returns trigger language plpgsql as $$
      begin
        raise exception 'log refused';
      end
      $$;
      create trigger test_refuse_rollback_log before insert on ai_rollout_log
        for each row execute function test_refuse_rollback_log();
    `);
    try {
      const before = await providerRows(db, { withUpdatedAt: true });
      const error = await rejectionOf(rollbackProviders(db, 'single_db', operator));
      expect(error).toBeInstanceOf(OperatorError);
      expect((error as Error).message).toMatch(/rolled back, nothing changed: log refused/);
      expect(await providerRows(db, { withUpdatedAt: true })).toEqual(before);
    } finally {
      await db.exec(`
        drop trigger test_refuse_rollback_log on ai_rollout_log;
        drop function test_refuse_rollback_log();
      `);
    }
  });
});
