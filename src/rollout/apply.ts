import { type MigrationFile, migrate } from '../db/migrator.ts';
import type { Db } from '../db/types.ts';
import { writeLogEntry } from './log.ts';
import { applyOverlay, loadOverlay } from './overlays.ts';
import type { RolloutTarget } from './targets.ts';

export interface ApplyOptions {
  operator: string;
  notes?: string;
  /** Overlay folder (tests); default db/overlays/. */
  overlaysDir?: string;
  onMigration?: (migration: MigrationFile, durationMs: number) => void;
}

export interface ApplyResult {
  logId: number;
  migrated: string[];
  overlay: string;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * `genloop rollout apply`: pending migrations (the Phase 2 base migration among them), then the
 * target's overlay in one transaction with its `apply` log entry (stage start and end). A
 * failure leaves a `failed` entry when the log table exists, and is rethrown.
 */
export async function applyRollout(
  db: Db,
  target: RolloutTarget,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const overlay = loadOverlay(target, options.overlaysDir);
  const startedAt = new Date();
  let migrated: string[] = [];
  try {
    const result = await migrate(db, options.onMigration ? { onApplied: options.onMigration } : {});
    migrated = result.applied;
    let logId = 0;
    let finishedAt = new Date();
    await applyOverlay(db, overlay, {
      alsoInTransaction: async (tx) => {
        finishedAt = new Date();
        logId = await writeLogEntry(tx, {
          environment: target,
          action: 'apply',
          operator: options.operator,
          status: 'ok',
          startedAt,
          finishedAt,
          notes:
            options.notes ??
            `migrations applied: ${migrated.length === 0 ? 'none pending' : migrated.join(', ')}; overlay ${target}.sql`,
        });
      },
    });
    return { logId, migrated, overlay: overlay.file, startedAt, finishedAt };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    await writeLogEntry(db, {
      environment: target,
      action: 'apply',
      operator: options.operator,
      status: 'failed',
      startedAt,
      finishedAt: new Date(),
      notes: reason,
    }).catch(() => undefined);
    throw error;
  }
}
