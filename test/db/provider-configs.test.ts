import { expect, it } from 'vitest';
import { PG } from '../../src/db/errors.ts';
import type { Queryable } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { expectDbError } from '../helpers/errors.ts';

const ONE_DEFAULT = 'ai_provider_configs_one_default_per_environment';
const EXCLUSION_VIOLATION = '23P01';

interface ConfigRow {
  provider: string;
  environment: string;
  enabled: boolean;
  is_default: boolean;
}

function insertConfig(target: Queryable, row: ConfigRow) {
  return target.query(
    `insert into ai_provider_configs (provider, environment, enabled, is_default)
     values ($1, $2, $3, $4)`,
    [row.provider, row.environment, row.enabled, row.is_default],
  );
}

describeEachDriver('ai_provider_configs: one default provider per environment', (use) => {
  it('migrations insert openai enabled and default in prod, custom enabled and not default in prod', async () => {
    const { rows } = await use().db.query<ConfigRow & { weight: number }>(
      `select provider, environment, enabled, is_default, weight
         from ai_provider_configs
        where environment = 'prod' and provider in ('openai', 'custom') order by provider`,
    );
    expect(rows).toEqual([
      { provider: 'custom', environment: 'prod', enabled: true, is_default: false, weight: 0 },
      { provider: 'openai', environment: 'prod', enabled: true, is_default: true, weight: 100 },
    ]);
  });

  it('migrations insert exactly one default, openai, in prod', async () => {
    const { rows } = await use().db.query<{ provider: string }>(
      `select provider from ai_provider_configs where environment = 'prod' and is_default`,
    );
    expect(rows).toEqual([{ provider: 'openai' }]);
  });

  it('rejects a second default inserted into an environment', async () => {
    const { db } = use();
    await insertConfig(db, {
      provider: 'openai',
      environment: 'staging',
      enabled: true,
      is_default: true,
    });
    const error = await expectDbError(
      insertConfig(db, {
        provider: 'custom',
        environment: 'staging',
        enabled: true,
        is_default: true,
      }),
      EXCLUSION_VIOLATION,
    );
    expect(error.constraint).toBe(ONE_DEFAULT);
  });

  it('rejects an update that makes a second prod row the default', async () => {
    const { db } = use();
    const error = await expectDbError(
      db.query(
        `update ai_provider_configs set is_default = true
          where provider = 'custom' and environment = 'prod'`,
      ),
      EXCLUSION_VIOLATION,
    );
    expect(error.constraint).toBe(ONE_DEFAULT);
    const { rows } = await db.query<{ count: number }>(
      `select count(*)::int as count from ai_provider_configs
        where environment = 'prod' and is_default`,
    );
    expect(rows[0]!.count).toBe(1);
  });

  it('allows one default in each of several environments', async () => {
    const { db } = use();
    for (const environment of ['dev', 'qa', 'eu-prod']) {
      await insertConfig(db, { provider: 'custom', environment, enabled: true, is_default: true });
    }
    const { rows } = await db.query<{ environment: string; defaults: number }>(
      `select environment, count(*)::int as defaults from ai_provider_configs
        where is_default and environment in ('dev', 'qa', 'eu-prod')
        group by environment order by environment`,
    );
    expect(rows).toEqual([
      { environment: 'dev', defaults: 1 },
      { environment: 'eu-prod', defaults: 1 },
      { environment: 'qa', defaults: 1 },
    ]);
  });

  it('allows any number of non-default rows in one environment', async () => {
    const { db } = use();
    for (const provider of ['openai', 'custom', 'openrouter', 'replicate']) {
      await insertConfig(db, { provider, environment: 'load', enabled: true, is_default: false });
    }
    const { rows } = await db.query<{ count: number }>(
      `select count(*)::int as count from ai_provider_configs where environment = 'load'`,
    );
    expect(rows[0]!.count).toBe(4);
  });

  it('rejects a default that is disabled', async () => {
    const error = await expectDbError(
      insertConfig(use().db, {
        provider: 'openai',
        environment: 'disabled-default',
        enabled: false,
        is_default: true,
      }),
      PG.checkViolation,
    );
    expect(error.constraint).toBe('ai_provider_configs_default_is_enabled');
  });

  it('moves the default from one provider to another in a single statement', async () => {
    const { db } = use();
    // Physical order openai then custom: a per-row unique check would see two defaults.
    await insertConfig(db, {
      provider: 'openai',
      environment: 'swap',
      enabled: true,
      is_default: false,
    });
    await insertConfig(db, {
      provider: 'custom',
      environment: 'swap',
      enabled: true,
      is_default: true,
    });
    await db.query(
      `update ai_provider_configs set is_default = (provider = 'openai') where environment = 'swap'`,
    );
    const { rows } = await db.query<{ provider: string }>(
      `select provider from ai_provider_configs where environment = 'swap' and is_default`,
    );
    expect(rows).toEqual([{ provider: 'openai' }]);
  });

  it('rejects two defaults left behind by a statement inside a transaction', async () => {
    const { db } = use();
    const error = await expectDbError(
      db.transaction(async (tx) => {
        await insertConfig(tx, {
          provider: 'openai',
          environment: 'in-transaction',
          enabled: true,
          is_default: true,
        });
        await insertConfig(tx, {
          provider: 'custom',
          environment: 'in-transaction',
          enabled: true,
          is_default: true,
        });
      }),
      EXCLUSION_VIOLATION,
    );
    expect(error.constraint).toBe(ONE_DEFAULT);
    const { rows } = await db.query(
      `select 1 from ai_provider_configs where environment = 'in-transaction'`,
    );
    expect(rows).toHaveLength(0);
  });
});
