import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db, Queryable } from '../db/types.ts';
import { OperatorError } from '../lib/errors.ts';
import { PACKAGE_ROOT } from '../lib/package-root.ts';
import type { RolloutTarget } from './targets.ts';

/** Where the environment overlays live (`db/overlays/<target>.sql`). */
export const OVERLAYS_DIR = join(PACKAGE_ROOT, 'db', 'overlays');

export interface Overlay {
  target: RolloutTarget;
  file: string;
  sql: string;
}

/** Reads the overlay of a rollout target. */
export function loadOverlay(target: RolloutTarget, dir: string = OVERLAYS_DIR): Overlay {
  const file = `${dir}${dir.endsWith('/') ? '' : '/'}${target}.sql`;
  let sql: string;
  try {
    sql = readFileSync(file, 'utf8');
  } catch (error) {
    throw new OperatorError(`cannot read the ${target} overlay ${file}: ${String(error)}`, {
      cause: error,
    });
  }
  return { target, file, sql };
}

/**
 * Runs an overlay in one transaction: it lands whole or not at all. The overlays are idempotent,
 * so applying one twice ends in the same state. `alsoInTransaction` runs after the overlay in the
 * same transaction (the `apply` log entry).
 *
 * @example
 * await applyOverlay(db, loadOverlay('staging'));
 */
export async function applyOverlay(
  db: Db,
  overlay: Overlay,
  options: { alsoInTransaction?: (tx: Queryable) => Promise<void> } = {},
): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await tx.exec(overlay.sql);
      await options.alsoInTransaction?.(tx);
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OperatorError(
      `overlay ${overlay.file} failed and was rolled back: ${reason}; nothing was changed.`,
      { cause: error },
    );
  }
}
