import { readFileSync } from 'node:fs';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { OperatorError } from '../../src/lib/errors.ts';
import { applyOverlay, loadOverlay } from '../../src/rollout/overlays.ts';
import { ROLLOUT_TARGETS } from '../../src/rollout/targets.ts';
import { verifyRollout } from '../../src/rollout/verify.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { rejectionOf } from '../helpers/errors.ts';
import {
  type ProviderRow,
  providerRows,
  replaceProviderRows,
  routingState,
} from './provider-rows.ts';

const staging = (provider: string, enabled: boolean, isDefault: boolean, weight: number) => ({
  provider,
  environment: 'staging',
  enabled,
  is_default: isDefault,
  weight,
});

describeEachDriver('environment overlays', (use) => {
  let migrated: ProviderRow[] = [];
  beforeAll(async () => {
    migrated = await providerRows(use().db);
  });
  beforeEach(async () => {
    await replaceProviderRows(use().db, migrated);
  });

  for (const target of ROLLOUT_TARGETS) {
    it(`${target}: applied twice leaves the same rows (updated_at included) and verifies`, async () => {
      const { db } = use();
      await applyOverlay(db, loadOverlay(target));
      const once = await providerRows(db, { withUpdatedAt: true });
      await applyOverlay(db, loadOverlay(target));
      const twice = await providerRows(db, { withUpdatedAt: true });
      expect(twice).toEqual(once);
      const result = await verifyRollout(db, target);
      expect(result.checks.filter((check) => !check.passed).map((check) => check.name)).toEqual([]);
      expect(result.passed).toBe(true);
    });
  }

  it('staging: openai enabled + default, custom enabled non-default, conservative limits', async () => {
    const { db } = use();
    const prodBefore = await routingState(db, ['prod']);
    await applyOverlay(db, loadOverlay('staging'));
    const rows = (await providerRows(db)).filter((row) => row.environment === 'staging');
    expect(
      rows.map(({ provider, enabled, is_default, weight, timeout_ms, max_retries }) => ({
        provider,
        enabled,
        is_default,
        weight,
        timeout_ms,
        max_retries,
      })),
    ).toEqual([
      {
        provider: 'custom',
        enabled: true,
        is_default: false,
        weight: 0,
        timeout_ms: 20000,
        max_retries: 1,
      },
      {
        provider: 'openai',
        enabled: true,
        is_default: true,
        weight: 100,
        timeout_ms: 20000,
        max_retries: 1,
      },
    ]);
    expect(await routingState(db, ['prod'])).toEqual(prodBefore);
  });

  it('prod: openai enabled + default at weight 100, custom enabled non-default at 0', async () => {
    const { db } = use();
    await applyOverlay(db, loadOverlay('prod'));
    const rows = await routingState(db, ['prod']);
    expect(rows.filter((row) => row.provider === 'openai' || row.provider === 'custom')).toEqual([
      { provider: 'custom', environment: 'prod', enabled: true, is_default: false, weight: 0 },
      { provider: 'openai', environment: 'prod', enabled: true, is_default: true, weight: 100 },
    ]);
  });

  it('single_db: prod rows as prod, every non-prod row present but disabled and non-default', async () => {
    const { db } = use();
    await db.query(
      `insert into ai_provider_configs (provider, environment, enabled, is_default, weight)
       values ('openrouter', 'dev', true, true, 50)`,
    );
    await applyOverlay(db, loadOverlay('single_db'));
    expect(await routingState(db, ['staging', 'dev'])).toEqual([
      { provider: 'openrouter', environment: 'dev', enabled: false, is_default: false, weight: 50 },
      staging('custom', false, false, 0),
      staging('openai', false, false, 100),
    ]);
    const { rows } = await db.query<{ prod_default_count: number; non_prod_enabled_count: number }>(
      `select
         count(*) filter (where environment = 'prod' and is_default = true) as prod_default_count,
         count(*) filter (where environment <> 'prod' and enabled = true) as non_prod_enabled_count
       from public.ai_provider_configs`,
    );
    expect(rows[0]).toEqual({ prod_default_count: 1, non_prod_enabled_count: 0 });
  });

  it('moves the default to openai from any other provider without breaking the one-default rule', async () => {
    const { db } = use();
    // A canary left custom as the default in both environments.
    await db.query(
      `update ai_provider_configs set is_default = false where environment = 'prod' and provider = 'openai'`,
    );
    await db.query(
      `update ai_provider_configs set is_default = true where environment = 'prod' and provider = 'custom'`,
    );
    await db.query(
      `insert into ai_provider_configs (provider, environment, enabled, is_default, weight)
       values ('custom', 'staging', true, true, 100), ('openai', 'staging', false, false, 0)`,
    );
    await applyOverlay(db, loadOverlay('staging'));
    await applyOverlay(db, loadOverlay('prod'));
    const defaults = (await routingState(db, ['staging', 'prod'])).filter((row) => row.is_default);
    expect(defaults).toEqual([
      { provider: 'openai', environment: 'prod', enabled: true, is_default: true, weight: 100 },
      staging('openai', true, true, 100),
    ]);
  });

  it('keeps metadata keys an operator added, and records which overlay ran', async () => {
    const { db } = use();
    await db.query(
      `update ai_provider_configs set metadata = '{"models": ["gpt-4o"]}'
        where environment = 'prod' and provider = 'openai'`,
    );
    await applyOverlay(db, loadOverlay('prod'));
    const { rows } = await db.query<{ metadata: Record<string, unknown> }>(
      `select metadata from ai_provider_configs where environment = 'prod' and provider = 'openai'`,
    );
    expect(rows[0]!.metadata).toEqual({
      models: ['gpt-4o'],
      route_strategy: 'fallback',
      overlay: 'prod',
    });
  });

  it('lands whole or not at all: a failing statement rolls back the ones before it', async () => {
    const { db } = use();
    const before = await providerRows(db, { withUpdatedAt: true });
    const broken = {
      ...loadOverlay('prod'),
      sql: `update public.ai_provider_configs set weight = 42 where provider = 'custom';
            insert into public.ai_provider_configs (provider, environment) values ('anthropic', 'prod');`,
    };
    const error = await rejectionOf(applyOverlay(db, broken));
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toMatch(/rolled back.*ai_provider_configs_provider_check/);
    expect(await providerRows(db, { withUpdatedAt: true })).toEqual(before);
  });
});

it('overlays have no begin/commit of their own, so apply can wrap each in one transaction', () => {
  for (const target of ROLLOUT_TARGETS) {
    const sql = readFileSync(loadOverlay(target).file, 'utf8');
    expect(sql, target).not.toMatch(/^\s*(begin|commit|rollback)\s*;/im);
  }
});
