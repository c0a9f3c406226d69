import { quoteIdent } from '../../src/db/ident.ts';
import { migrate } from '../../src/db/migrator.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db } from '../../src/db/types.ts';
import { onInterrupt } from './processes.ts';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** `url` pointed at another database on the same server. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A database a benchmark created for itself; `drop()` removes it (also on Ctrl-C). */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** A small pool on it for the benchmark's own queries. */
  readonly db: Db;
  drop(): Promise<void>;
}

/**
 * Creates a fresh database `name` on the server of `serverUrl` (dropping a leftover of an earlier
 * run first), from `template` when given, and applies the migrations unless told not to.
 */
export async function createBenchDatabase(
  serverUrl: string,
  name: string,
  options: { template?: string; migrate?: boolean; poolSize?: number } = {},
): Promise<BenchDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name "${name}"`);
  const admin = createPgDb({
    connectionString: databaseUrl(serverUrl, 'postgres'),
    max: 1,
    applicationName: 'genloop-bench',
  });
  let dropped = false;
  const dropDatabase = async () => {
    if (dropped) return;
    dropped = true;
    await admin.query(`drop database if exists ${quoteIdent(name)} with (force)`);
    await admin.close();
  };
  const unregister = onInterrupt(dropDatabase);
  await admin.query(`drop database if exists ${quoteIdent(name)} with (force)`);
  const create = `create database ${quoteIdent(name)}${options.template ? ` template ${quoteIdent(options.template)}` : ''}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(create);
      break;
    } catch (error) {
      // A template's last session may still be closing (55006: "being accessed by other users").
      if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const url = databaseUrl(serverUrl, name);
  const db = createPgDb({
    connectionString: url,
    max: options.poolSize ?? 4,
    applicationName: 'genloop-bench',
  });
  if (options.migrate !== false) await migrate(db);
  return {
    name,
    url,
    db,
    async drop() {
      await db.close().catch(() => {});
      await dropDatabase();
      unregister();
    },
  };
}

/**
 * The pids of the Postgres backends genloop's processes hold in `database` (their application
 * names start with `genloop`; the benchmark's own connections, `genloop-bench`, are left out).
 */
export async function genloopBackendPids(db: Db, database: string): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    `select pid from pg_stat_activity
      where datname = $1 and application_name like 'genloop%' and application_name <> 'genloop-bench'`,
    [database],
  );
  return rows.map((row) => row.pid);
}

/** Postgres version and the settings that matter for write throughput. */
export async function serverInfo(db: Db): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; setting: string }>(
    `select name, setting from pg_settings
      where name in ('server_version', 'max_connections', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level')`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
}
