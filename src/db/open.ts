import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/schema.ts';
import { OperatorError } from '../lib/errors.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { DbError } from './errors.ts';
import { createPgDb } from './pg-driver.ts';
import { createPgliteDb } from './pglite-driver.ts';
import type { Db } from './types.ts';

export interface OpenDbOptions {
  onIdleError?: (error: Error) => void;
  applicationName?: string;
  /**
   * Connect to DATABASE_DIRECT_URL when it is set (migrations: their advisory and table locks
   * belong on a direct connection, not behind a transaction-mode pooler).
   */
  direct?: boolean;
}

/**
 * Opens the database the config names: a node-postgres pool for DATABASE_URL, or PGlite
 * persisted in the data folder. Checks that it answers, and turns the usual failures
 * (unreachable server, bad password, folder in use) into one-line operator errors.
 */
export async function openDb(config: ResolvedConfig, options: OpenDbOptions = {}): Promise<Db> {
  if (config.mode === 'embedded') {
    mkdirSync(config.dataDir, { recursive: true });
    const release = acquireDataDirLock(config.dataDir);
    try {
      const db = await createPgliteDb({ dataDir: join(config.dataDir, 'pgdata') });
      return {
        ...db,
        async close() {
          await db.close();
          release();
        },
      };
    } catch (error) {
      release();
      throw new OperatorError(
        `cannot open the embedded database in ${config.dataDir}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  const connectionString =
    options.direct && config.databaseDirectUrl ? config.databaseDirectUrl : config.databaseUrl!;
  const db = createPgDb({
    connectionString,
    listenConnectionString: config.databaseDirectUrl,
    max: config.databasePoolSize,
    ...(options.onIdleError ? { onIdleError: options.onIdleError } : {}),
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
  });
  try {
    await db.query('select 1');
  } catch (error) {
    await db.close().catch(() => {});
    throw new OperatorError(describeConnectError(connectionString, error), { cause: error });
  }
  return db;
}

function describeConnectError(databaseUrl: string, error: unknown): string {
  const url = new URL(databaseUrl);
  const where = `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname}`;
  const cause = error instanceof DbError && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: string } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH'
  ) {
    return `cannot reach Postgres at ${where} (${code}); start the server or fix DATABASE_URL.`;
  }
  if (code === '28P01' || code === '28000') {
    return `Postgres at ${where} refused the credentials (${message}); fix the user or password in DATABASE_URL.`;
  }
  if (code === '3D000') {
    return `Postgres at ${where}: ${message}; create the database or fix DATABASE_URL.`;
  }
  return `cannot connect to Postgres at ${where}: ${message}`;
}
