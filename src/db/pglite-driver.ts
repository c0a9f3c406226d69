import { PGlite, type Transaction, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { DbError } from './errors.ts';
import { DriverParam } from './params.ts';
import type { Db, Queryable, QueryResult } from './types.ts';

export interface PgliteDriverOptions {
  /** A folder to persist into; in memory when absent (tests). */
  dataDir?: string;
  /** A data directory tarball (from `dumpDataDir`) to start from: a migrated template. */
  loadDataDir?: Blob;
  /**
   * Load pgvector (default true). A data folder whose tables use its types can only be opened
   * with it loaded; false stands for a server without pgvector (tests of the semantic cache's
   * absence).
   */
  vector?: boolean;
}

/**
 * The extensions every embedded database is opened with: pgvector, for the semantic response
 * cache. Tools that open PGlite themselves pass the same, or tables that use them cannot be read.
 */
export const PGLITE_EXTENSIONS = { vector };

const parsers = {
  [types.INT8]: (value: string) => Number(value),
  [types.NUMERIC]: (value: string) => Number(value),
};

/**
 * The embedded driver: Postgres compiled to WASM, in this process. It runs one statement at a
 * time; a transaction holds it exclusively, which gives the same isolation a pool would.
 */
export async function createPgliteDb(options: PgliteDriverOptions = {}): Promise<Db> {
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers,
    ...(options.vector === false ? {} : { extensions: PGLITE_EXTENSIONS }),
  });
  return wrapPglite(pglite);
}

/** Wraps an open PGlite instance in genloop's Db interface. */
export function wrapPglite(pglite: PGlite): Db {
  return {
    driver: 'pglite',
    query: (text, params) => runQuery(pglite, text, params),
    exec: (sql) => runExec(pglite, sql),
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({
          query: (text, params) => runQuery(tx, text, params),
          exec: (sql) => runExec(tx, sql),
        } satisfies Queryable),
      ),
    async listen(channel, onMessage) {
      const unlisten = await pglite.listen(channel, onMessage);
      return async () => {
        await unlisten();
      };
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
}

async function runQuery<R extends object>(
  target: PGlite | Transaction,
  text: string,
  params?: readonly unknown[],
): Promise<QueryResult<R>> {
  const callSite = new Error();
  try {
    const result = await target.query<R>(text, params?.map(textParam));
    return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
  } catch (error) {
    throw new DbError(error, text, callSite);
  }
}

/** PGlite serialises parameters by their type, from JavaScript values or text. */
function textParam(value: unknown): unknown {
  return value instanceof DriverParam ? value.embedded() : value;
}

async function runExec(target: PGlite | Transaction, sql: string): Promise<void> {
  const callSite = new Error();
  try {
    await target.exec(sql);
  } catch (error) {
    throw new DbError(error, sql, callSite);
  }
}
