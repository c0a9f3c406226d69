import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/db/migrator.ts';
import { createPgDb } from '../src/db/pg-driver.ts';
import { PGLITE_EXTENSIONS, wrapPglite } from '../src/db/pglite-driver.ts';
import { adminUrl, databaseUrlFor, templateDatabaseName } from './helpers/pg-admin.ts';

/**
 * Migrates one template per driver before any test file runs: a PGlite data directory dumped
 * to a tarball, and (when DATABASE_URL is set) a Postgres template database. Each test file
 * then starts from its own copy, so files never share state.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'genloop-test-'));
  const lite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  await migrate(wrapPglite(lite));
  const tarball = await lite.dumpDataDir('none');
  await lite.close();
  const tarPath = join(dir, 'pglite-template.tar');
  writeFileSync(tarPath, Buffer.from(await tarball.arrayBuffer()));
  project.provide('pgliteTemplate', tarPath);

  const databaseUrl = process.env.DATABASE_URL;
  const template = databaseUrl ? templateDatabaseName() : '';
  if (databaseUrl) {
    const admin = createPgDb({ connectionString: adminUrl(databaseUrl), max: 1 });
    try {
      await admin.query(`drop database if exists "${template}" with (force)`);
      await admin.query(`create database "${template}"`);
      const target = createPgDb({
        connectionString: databaseUrlFor(databaseUrl, template),
        max: 1,
      });
      await migrate(target);
      await target.close();
    } finally {
      await admin.close();
    }
  }
  project.provide('pgTemplate', template);

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (databaseUrl) {
      const admin = createPgDb({ connectionString: adminUrl(databaseUrl), max: 1 });
      await admin.query(`drop database if exists "${template}" with (force)`).catch(() => {});
      await admin.close();
    }
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
  }
}
