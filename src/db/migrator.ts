import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperatorError } from '../lib/errors.ts';
import { PACKAGE_ROOT } from '../lib/package-root.ts';
import type { Db } from './types.ts';

/** Where genloop's migrations live: Supabase CLI layout, so `supabase db push` works too. */
export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'supabase', 'migrations');

// One key for every genloop migrator on a database ("genloop" in ASCII).
const ADVISORY_LOCK_KEY = 0x67656e6c6f6f70;
const FILE_PATTERN = /^(\d{14})_([a-z0-9_]+)\.sql$/;

export interface MigrationFile {
  version: string;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  version: string;
  name: string;
  state: 'applied' | 'pending' | 'edited' | 'missing';
  appliedAt: Date | undefined;
}

export interface MigrateOptions {
  dir?: string;
  /** Upper bound on waiting for a table lock inside a migration. */
  lockTimeoutMs?: number;
  onApplied?: (migration: MigrationFile, durationMs: number) => void;
}

export interface MigrateResult {
  applied: string[];
  /** Pending here but applied meanwhile by a concurrent migrator. */
  appliedElsewhere: string[];
}

/** Reads the migration files in version order and checksums them. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const migrations: MigrationFile[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = FILE_PATTERN.exec(file);
    if (!match) {
      throw new OperatorError(
        `migration file ${file} is not named <14-digit timestamp>_<snake_case_name>.sql; rename it.`,
      );
    }
    const sql = readFileSync(`${dir}/${file}`, 'utf8').replaceAll('\r\n', '\n');
    migrations.push({
      version: match[1]!,
      name: match[2]!,
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

/**
 * Applies pending migrations, each in its own transaction: take the advisory lock, insert the
 * version row first (a concurrent migrator that finds it there treats the file as done), then
 * run the file with a lock timeout. Refuses to run when an applied file was edited.
 */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = loadMigrations(options.dir);
  await ensureMigrationsTable(db);
  const applied = await readApplied(db);
  assertUnedited(migrations, applied);

  const result: MigrateResult = { applied: [], appliedElsewhere: [] };
  const lockTimeoutMs = Math.trunc(options.lockTimeoutMs ?? 10_000);
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    const started = performance.now();
    const ran = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
      const inserted = await tx.query(
        `insert into genloop.schema_migrations (version, name, checksum)
         values ($1, $2, $3)
         on conflict (version) do nothing
         returning version`,
        [migration.version, migration.name, migration.checksum],
      );
      if (inserted.rowCount === 0) return false;
      await tx.query(`select set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new OperatorError(`migration ${migration.file} failed: ${reason}`, { cause: error });
      }
      await tx.query('update genloop.schema_migrations set duration_ms = $2 where version = $1', [
        migration.version,
        Math.round(performance.now() - started),
      ]);
      return true;
    });
    if (ran) {
      result.applied.push(migration.version);
      options.onApplied?.(migration, Math.round(performance.now() - started));
    } else {
      result.appliedElsewhere.push(migration.version);
    }
  }
  // A concurrent migrator may have applied a file that differs from ours.
  assertUnedited(migrations, await readApplied(db));
  return result;
}

/** Lists every migration known to the files or the database, with its state. */
export async function migrationStatus(
  db: Db,
  options: { dir?: string } = {},
): Promise<MigrationStatus[]> {
  const migrations = loadMigrations(options.dir);
  await ensureMigrationsTable(db);
  const applied = await readApplied(db);
  const rows: MigrationStatus[] = migrations.map((migration) => {
    const row = applied.get(migration.version);
    return {
      version: migration.version,
      name: migration.name,
      state:
        row === undefined ? 'pending' : row.checksum === migration.checksum ? 'applied' : 'edited',
      appliedAt: row?.appliedAt,
    };
  });
  const known = new Set(migrations.map((migration) => migration.version));
  for (const [version, row] of applied) {
    if (!known.has(version))
      rows.push({ version, name: row.name, state: 'missing', appliedAt: row.appliedAt });
  }
  return rows.sort((a, b) => a.version.localeCompare(b.version));
}

async function ensureMigrationsTable(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
    await tx.exec(`
      create schema if not exists genloop;
      create table if not exists genloop.schema_migrations (
        version text primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        duration_ms integer
      );
    `);
  });
}

interface AppliedRow {
  name: string;
  checksum: string;
  appliedAt: Date;
}

async function readApplied(db: Db): Promise<Map<string, AppliedRow>> {
  const { rows } = await db.query<{
    version: string;
    name: string;
    checksum: string;
    applied_at: Date;
  }>('select version, name, checksum, applied_at from genloop.schema_migrations order by version');
  return new Map(
    rows.map((row) => [
      row.version,
      { name: row.name, checksum: row.checksum, appliedAt: row.applied_at },
    ]),
  );
}

function assertUnedited(migrations: MigrationFile[], applied: Map<string, AppliedRow>): void {
  for (const migration of migrations) {
    const row = applied.get(migration.version);
    if (row !== undefined && row.checksum !== migration.checksum) {
      throw new OperatorError(
        `migration ${migration.file} was edited after it was applied (checksum ${row.checksum.slice(0, 12)} in the database, ${migration.checksum.slice(0, 12)} on disk); restore the file and put the change in a new migration.`,
      );
    }
  }
}
