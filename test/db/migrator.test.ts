import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  loadMigrations,
  MIGRATIONS_DIR,
  type MigrateResult,
  migrate,
  migrationStatus,
} from '../../src/db/migrator.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { OperatorError } from '../../src/lib/errors.ts';
import { createEmptyDatabase, describeEachDriver, type TestDatabase } from '../helpers/db.ts';
import { rejectionOf } from '../helpers/errors.ts';

const ALL_VERSIONS = loadMigrations().map((migration) => migration.version);

async function appliedVersions(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ version: string }>(
    'select version from genloop.schema_migrations order by version',
  );
  return rows.map((row) => row.version);
}

async function regclass(db: Db, name: string): Promise<string | null> {
  const { rows } = await db.query<{ name: string | null }>('select to_regclass($1)::text as name', [
    name,
  ]);
  return rows[0]!.name;
}

/** A copy of the real migrations that a test may edit. */
function copyMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'genloop-migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

describeEachDriver('migrator', (use, driver) => {
  const opened: TestDatabase[] = [];
  const dirs: string[] = [];
  const emptyDatabase = async () => {
    const database = await createEmptyDatabase(driver);
    opened.push(database);
    return database;
  };
  const migrationsCopy = () => {
    const dir = copyMigrations();
    dirs.push(dir);
    return dir;
  };

  afterEach(async () => {
    for (const database of opened.splice(0)) await database.dispose();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('applies every file to an empty database, then none on a second run', async () => {
    const { db } = await emptyDatabase();
    const reported: string[] = [];
    const first = await migrate(db, { onApplied: (migration) => reported.push(migration.file) });
    expect(first).toEqual({ applied: ALL_VERSIONS, appliedElsewhere: [] });
    expect(reported).toEqual(loadMigrations().map((migration) => migration.file));
    expect(await appliedVersions(db)).toEqual(ALL_VERSIONS);

    const second = await migrate(db);
    expect(second).toEqual({ applied: [], appliedElsewhere: [] });
    expect(await appliedVersions(db)).toEqual(ALL_VERSIONS);
  });

  it('records a checksum and reports every migration as applied', async () => {
    const { db } = await emptyDatabase();
    expect((await migrationStatus(db)).map((row) => row.state)).toEqual(
      ALL_VERSIONS.map(() => 'pending'),
    );
    await migrate(db);
    const status = await migrationStatus(db);
    expect(status.map((row) => [row.version, row.state])).toEqual(
      ALL_VERSIONS.map((version) => [version, 'applied']),
    );
    expect(status.every((row) => row.appliedAt instanceof Date)).toBe(true);
    const { rows } = await db.query<{ checksum: string }>(
      'select checksum from genloop.schema_migrations order by version',
    );
    expect(rows.map((row) => row.checksum)).toEqual(
      loadMigrations().map((migration) => migration.checksum),
    );
  });

  it('two migrators started at once both succeed and apply each file exactly once', async () => {
    const database = await emptyDatabase();
    // On Postgres two pools race for real; PGlite serialises the two in one process.
    const second: Db =
      driver === 'pg' ? createPgDb({ connectionString: database.url!, max: 2 }) : database.db;
    try {
      const results: MigrateResult[] = await Promise.all([migrate(database.db), migrate(second)]);
      const applied = results.flatMap((result) => result.applied);
      expect([...applied].sort()).toEqual(ALL_VERSIONS);
      for (const result of results) {
        for (const version of result.appliedElsewhere)
          expect(result.applied).not.toContain(version);
      }
      const seen = results.flatMap((result) => [...result.applied, ...result.appliedElsewhere]);
      for (const version of seen) expect(ALL_VERSIONS).toContain(version);
      expect(await appliedVersions(database.db)).toEqual(ALL_VERSIONS);
      // The seeded provider rows were inserted once: the same rows as a database migrated alone.
      const seeded = async (target: Db) =>
        (
          await target.query<{ provider: string; environment: string }>(
            'select provider, environment from ai_provider_configs order by environment, provider',
          )
        ).rows;
      expect(await seeded(database.db)).toEqual(await seeded(use().db));
    } finally {
      if (second !== database.db) await second.close();
    }
  });

  it('refuses an applied migration that was edited, naming the file', async () => {
    const { db } = await emptyDatabase();
    const dir = migrationsCopy();
    await migrate(db, { dir });
    const edited = loadMigrations(dir)[1]!;
    const path = join(dir, edited.file);
    writeFileSync(path, `${readFileSync(path, 'utf8')} `);

    const error = await rejectionOf(migrate(db, { dir }));
    expect(error).toBeInstanceOf(OperatorError);
    const message = (error as OperatorError).message;
    expect(message).toContain(edited.file);
    expect(message).toContain('was edited after it was applied');
    expect(message).toMatch(/put the change in a new migration/);
    expect(message).not.toContain('\n');

    const status = await migrationStatus(db, { dir });
    expect(status.find((row) => row.version === edited.version)?.state).toBe('edited');
  });

  it('refuses to run when a file is badly named, before touching the database', async () => {
    const { db } = await emptyDatabase();
    const dir = migrationsCopy();
    writeFileSync(join(dir, '2026_add-things.sql'), 'create table public.never_created (id int);');

    const error = await rejectionOf(migrate(db, { dir }));
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toContain('2026_add-things.sql');
    expect((error as OperatorError).message).toMatch(/rename it/);
    expect(await regclass(db, 'genloop.schema_migrations')).toBeNull();
    expect(await regclass(db, 'public.ai_provider_configs')).toBeNull();
  });

  it('rolls a failing migration back completely and applies it once it is fixed', async () => {
    const { db } = await emptyDatabase();
    const dir = migrationsCopy();
    const file = '29990101000000_half_done.sql';
    writeFileSync(
      join(dir, file),
      `create table public.half_done (id int primary key);
       insert into public.half_done values (1);
       alter table public.ai_provider_configs add column half_done_flag boolean;
       select * from public.table_that_does_not_exist;`,
    );

    const error = await rejectionOf(migrate(db, { dir }));
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toContain(`migration ${file} failed`);
    expect((error as OperatorError).message).toContain('table_that_does_not_exist');

    // The files before it are in; nothing of the failing one is.
    expect(await appliedVersions(db)).toEqual(ALL_VERSIONS);
    expect(await regclass(db, 'public.half_done')).toBeNull();
    const { rows } = await db.query(
      `select 1 from information_schema.columns
        where table_name = 'ai_provider_configs' and column_name = 'half_done_flag'`,
    );
    expect(rows).toEqual([]);

    writeFileSync(join(dir, file), 'create table public.half_done (id int primary key);');
    expect(await migrate(db, { dir })).toEqual({
      applied: ['29990101000000'],
      appliedElsewhere: [],
    });
    expect(await regclass(db, 'public.half_done')).toBe('half_done');
  });
});

describe('migration files', () => {
  let files: ReturnType<typeof loadMigrations>;
  beforeAll(() => {
    files = loadMigrations();
  });
  afterAll(() => {
    files = [];
  });

  it('are named <14-digit timestamp>_<snake_case>.sql with unique versions', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const migration of files) expect(migration.file).toMatch(/^\d{14}_[a-z0-9_]+\.sql$/);
    expect(new Set(files.map((migration) => migration.version)).size).toBe(files.length);
  });
});
