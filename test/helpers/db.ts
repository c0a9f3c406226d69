import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { createPgDb } from '../../src/db/pg-driver.ts';
import { createPgliteDb } from '../../src/db/pglite-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { adminUrl, databaseUrlFor } from './pg-admin.ts';

export type DriverName = 'pglite' | 'pg';

/** The drivers every test file runs on: PGlite always, Postgres when DATABASE_URL is set. */
export const drivers: DriverName[] = process.env.DATABASE_URL ? ['pglite', 'pg'] : ['pglite'];

export interface TestDatabase {
  db: Db;
  driver: DriverName;
  /** Set for Postgres: the connection string of this file's own database. */
  url: string | undefined;
  /** Drops the database (Postgres) or closes it (PGlite). */
  dispose(): Promise<void>;
}

/** A migrated database of its own: a clone of the run's template. */
export async function createTestDatabase(
  driver: DriverName,
  options: { poolSize?: number } = {},
): Promise<TestDatabase> {
  if (driver === 'pglite') {
    const tar = readFileSync(inject('pgliteTemplate'));
    const db = await createPgliteDb({ loadDataDir: new Blob([tar]) });
    return { db, driver, url: undefined, dispose: () => db.close() };
  }
  const base = process.env.DATABASE_URL!;
  const name = `genloop_t_${process.pid}_${Date.now().toString(36)}_${randomSuffix()}`;
  await cloneTemplate(base, name);
  const url = databaseUrlFor(base, name);
  const db = createPgDb({ connectionString: url, max: options.poolSize ?? 5 });
  return {
    db,
    driver,
    url,
    async dispose() {
      await db.close();
      const admin = createPgDb({ connectionString: adminUrl(base), max: 1 });
      await admin.query(`drop database if exists "${name}" with (force)`).catch(() => {});
      await admin.close();
    },
  };
}

/** An empty database (no migrations) for migrator tests; Postgres only needs `create database`. */
export async function createEmptyDatabase(driver: DriverName): Promise<TestDatabase> {
  if (driver === 'pglite') {
    const db = await createPgliteDb();
    return { db, driver, url: undefined, dispose: () => db.close() };
  }
  const base = process.env.DATABASE_URL!;
  const name = `genloop_e_${process.pid}_${Date.now().toString(36)}_${randomSuffix()}`;
  const admin = createPgDb({ connectionString: adminUrl(base), max: 1 });
  await admin.query(`create database "${name}"`);
  await admin.close();
  const url = databaseUrlFor(base, name);
  const db = createPgDb({ connectionString: url, max: 5 });
  return {
    db,
    driver,
    url,
    async dispose() {
      await db.close();
      const cleanup = createPgDb({ connectionString: adminUrl(base), max: 1 });
      await cleanup.query(`drop database if exists "${name}" with (force)`).catch(() => {});
      await cleanup.close();
    },
  };
}

/**
 * Declares the suite once per driver, each with a fresh migrated database that lives for the
 * suite. `use()` returns it inside tests and hooks.
 *
 * @example
 * describeEachDriver('ai_provider_configs', (use) => {
 *   it('has one default', async () => { const { db } = use(); ... });
 * });
 */
export function describeEachDriver(
  name: string,
  body: (use: () => TestDatabase, driver: DriverName) => void,
): void {
  for (const driver of drivers) {
    describe(`${name} [${driver}]`, () => {
      let database: TestDatabase | undefined;
      beforeAll(async () => {
        database = await createTestDatabase(driver);
      });
      afterAll(async () => {
        await database?.dispose();
      });
      body(() => {
        if (!database) throw new Error('test database not ready');
        return database;
      }, driver);
    });
  }
}

async function cloneTemplate(base: string, name: string): Promise<void> {
  const admin = createPgDb({ connectionString: adminUrl(base), max: 1 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database "${name}" template "${inject('pgTemplate')}"`);
        return;
      } catch (error) {
        // Postgres refuses to copy a template while another clone is reading it; retry briefly.
        if (attempt >= 20 || !String((error as Error).message).includes('is being accessed'))
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.close();
  }
}

function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}
