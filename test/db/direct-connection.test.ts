import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { openDb } from '../../src/db/open.ts';
import { createEmptyDatabase, drivers, type TestDatabase } from '../helpers/db.ts';

/**
 * DATABASE_DIRECT_URL: behind a transaction-mode pooler, LISTEN and migrations need a direct
 * connection. Two databases on one server stand in for "the pooler" and "the direct
 * connection": a NOTIFY reaches genloop's listener only through the database it listens on.
 */
const CHANNEL = 'genloop_direct_test';

// The direct connection is a Postgres concept: PGlite has one connection and no pooler.
if (drivers.includes('pg')) {
  describe('DATABASE_DIRECT_URL [pg]', () => {
    let pooled: TestDatabase;
    let direct: TestDatabase;
    beforeAll(async () => {
      pooled = await createEmptyDatabase('pg');
      direct = await createEmptyDatabase('pg');
    });
    afterAll(async () => {
      await pooled?.dispose();
      await direct?.dispose();
    });

    const configWith = (env: Record<string, string>) =>
      resolveConfig({ env: { GENLOOP_JWT_SECRET: 'x'.repeat(32), ...env } });

    it('LISTEN goes over the direct connection, queries over DATABASE_URL', async () => {
      const config = configWith({ DATABASE_URL: pooled.url!, DATABASE_DIRECT_URL: direct.url! });
      expect(config.databaseDirectUrl).toBe(direct.url);
      const db = await openDb(config);
      try {
        const received: string[] = [];
        await db.listen(CHANNEL, (payload) => received.push(payload));
        const { rows } = await db.query<{ name: string }>('select current_database() as name');
        expect(rows[0]!.name).toBe(new URL(pooled.url!).pathname.slice(1));
        await pooled.db.query(`select pg_notify('${CHANNEL}', 'through the pooler')`);
        await direct.db.query(`select pg_notify('${CHANNEL}', 'direct')`);
        await expect.poll(() => received, { timeout: 5_000 }).toContain('direct');
        expect(received).not.toContain('through the pooler');
      } finally {
        await db.close();
      }
    });

    it('without it, LISTEN shares DATABASE_URL; a direct open for migrations uses it when set', async () => {
      const plain = await openDb(configWith({ DATABASE_URL: pooled.url! }));
      try {
        const received: string[] = [];
        await plain.listen(CHANNEL, (payload) => received.push(payload));
        await pooled.db.query(`select pg_notify('${CHANNEL}', 'same database')`);
        await expect.poll(() => received, { timeout: 5_000 }).toContain('same database');
      } finally {
        await plain.close();
      }
      const forMigrations = await openDb(
        configWith({ DATABASE_URL: pooled.url!, DATABASE_DIRECT_URL: direct.url! }),
        { direct: true },
      );
      try {
        const { rows } = await forMigrations.query<{ name: string }>(
          'select current_database() as name',
        );
        expect(rows[0]!.name).toBe(new URL(direct.url!).pathname.slice(1));
      } finally {
        await forMigrations.close();
      }
    });
  });
}

describe('DATABASE_DIRECT_URL setting', () => {
  it('must be a Postgres URL', () => {
    expect(() =>
      resolveConfig({
        env: {
          DATABASE_URL: 'postgres://db.example.com/genloop',
          DATABASE_DIRECT_URL: 'http://db.example.com',
          GENLOOP_JWT_SECRET: 'x'.repeat(32),
        },
      }),
    ).toThrow(/DATABASE_DIRECT_URL/);
  });
});
