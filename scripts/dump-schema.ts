/**
 * Regenerates supabase/schema.sql: the schema-only pg_dump of a freshly migrated Postgres
 * database, normalised so that it only changes when the migrations change what they create.
 * A test (test/db/schema-dump.test.ts) fails when the committed file drifts. Take it on a server
 * with pgvector (scripts/install-pgvector.sh), so that it holds the semantic cache's table too.
 *
 * Usage: npx tsx scripts/dump-schema.ts
 *   DATABASE_URL  a server to create the scratch database on
 *                 (default postgres://postgres@127.0.0.1:5432/postgres)
 *   PG_DUMP       the pg_dump binary (default pg_dump on PATH); use the server's major version
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { migrate } from '../src/db/migrator.ts';
import { createPgDb } from '../src/db/pg-driver.ts';

/** Where the committed dump lives. */
export const SCHEMA_FILE = fileURLToPath(new URL('../supabase/schema.sql', import.meta.url));

/** The command that regenerates it, for error messages. */
export const DUMP_COMMAND = 'npx tsx scripts/dump-schema.ts';

const SCHEMAS = ['public', 'auth', 'genloop'];

/** Runs pg_dump --schema-only on `databaseUrl` and returns the normalised dump. */
export function dumpSchema(databaseUrl: string, pgDump = process.env.PG_DUMP ?? 'pg_dump'): string {
  const output = execFileSync(
    pgDump,
    [
      '--schema-only',
      '--no-owner',
      '--no-privileges',
      ...SCHEMAS.map((schema) => `--schema=${schema}`),
      `--dbname=${databaseUrl}`,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return normaliseSchemaDump(output);
}

/**
 * Drops what varies between pg_dump runs and versions but says nothing about the schema:
 * comment lines, session SET lines, the search_path reset, the `\restrict` / `\unrestrict`
 * meta-commands of recent pg_dump releases, and runs of blank lines.
 */
export function normaliseSchemaDump(dump: string): string {
  const kept = dump
    .replaceAll('\r\n', '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(
      (line) =>
        !line.startsWith('--') &&
        !/^SET\s/.test(line) &&
        !/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/.test(line) &&
        !/^\\(un)?restrict\b/.test(line),
    );
  return `${kept
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

/**
 * The dump as a server without pgvector has it: the same, less the semantic cache's table, its
 * sequence, indexes and row security (which the migration creates only where pgvector is
 * installed). The committed dump is taken with pgvector; the test compares a server without it
 * against this.
 */
export function withoutSemanticCache(dump: string): string {
  const blocks = dump.trimEnd().split('\n\n');
  const kept = blocks.filter(
    (block) =>
      !/^(CREATE (UNIQUE )?INDEX ai_semantic_cache_|CREATE TABLE public\.ai_semantic_cache\b|ALTER TABLE (ONLY )?public\.ai_semantic_cache\b)/.test(
        block,
      ),
  );
  return `${kept.join('\n\n')}\n`;
}

function databaseUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `genloop_schema_dump_${randomBytes(4).toString('hex')}`;
  const admin = createPgDb({ connectionString: databaseUrlFor(server, 'postgres'), max: 1 });
  await admin.query(`create database "${name}"`);
  try {
    const url = databaseUrlFor(server, name);
    const db = createPgDb({ connectionString: url, max: 1 });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    writeFileSync(SCHEMA_FILE, dumpSchema(url));
    process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
  } finally {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `dump-schema: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
