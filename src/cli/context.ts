import type { ConfigFlags } from '../config/resolve.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Db } from '../db/types.ts';

/** What every command gets: the resolved config (on first use) and where to print. */
export interface CliContext {
  config(extra?: ConfigFlags): ResolvedConfig;
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stdout is an interactive terminal (progress output) and not CI. */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * Opens the configured database, runs `fn`, and closes the database whatever happens. The
 * drivers are imported here, so commands that never touch the database never load them.
 */
export async function withDb<T>(
  context: CliContext,
  fn: (db: Db) => Promise<T>,
  { applicationName }: { applicationName?: string } = {},
): Promise<T> {
  const { openDb } = await import('../db/open.ts');
  const db = await openDb(context.config(), applicationName ? { applicationName } : {});
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
