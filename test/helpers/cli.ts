import { main } from '../../src/cli/main.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { openDb } from '../../src/db/open.ts';
import type { Db } from '../../src/db/types.ts';
import type { DriverName, TestDatabase } from './db.ts';

/** What one `genloop` command printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI against a suite's database: Postgres through DATABASE_URL, PGlite through
 * `--data-dir` (its own embedded database, since the CLI opens a folder, not a connection).
 * `dataDir` is read at each call, so a suite can create the folder in its `beforeAll`.
 */
export function cliAgainst(options: {
  driver: DriverName;
  database: () => TestDatabase;
  dataDir: () => string;
  env?: NodeJS.ProcessEnv;
}) {
  const { driver, database, dataDir } = options;
  return {
    async run(argv: string[]): Promise<CliRun> {
      const global = driver === 'pg' ? [] : ['--data-dir', dataDir()];
      const env: NodeJS.ProcessEnv = { ...options.env };
      if (driver === 'pg') env.DATABASE_URL = database().url!;
      let stdout = '';
      let stderr = '';
      const code = await main([...global, ...argv], {
        env,
        stdout: (text) => {
          stdout += text;
        },
        stderr: (text) => {
          stderr += text;
        },
      });
      return { code, stdout, stderr };
    },

    /** Runs `fn` on the database the CLI uses (for PGlite: opened while the CLI is not running). */
    async withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
      if (driver === 'pg') return fn(database().db);
      const db = await openDb(resolveConfig({ env: {}, flags: { dataDir: dataDir() } }));
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
  };
}
