import type { Command } from 'commander';
import { migrate, migrationStatus } from '../db/migrator.ts';
import { openDb } from '../db/open.ts';
import type { CliContext } from './context.ts';
import { formatTable } from './output.ts';

export function registerDbCommands(program: Command, context: CliContext): void {
  const db = program.command('db').description('database migrations');

  db.command('migrate')
    .description('apply pending migrations (exits 0 when there are none)')
    .action(async () => {
      const config = context.config();
      const handle = await openDb(config);
      try {
        const result = await migrate(handle, {
          onApplied: (migration, ms) => context.stdout(`applied ${migration.file} (${ms} ms)\n`),
        });
        if (result.appliedElsewhere.length > 0) {
          context.stdout(
            `${result.appliedElsewhere.length} migration(s) applied meanwhile by another migrator\n`,
          );
        }
        if (result.applied.length === 0) context.stdout('database is up to date\n');
      } finally {
        await handle.close();
      }
    });

  db.command('status')
    .description('list migrations and whether each is applied, pending, edited or missing')
    .action(async () => {
      const config = context.config();
      const handle = await openDb(config);
      try {
        const rows = await migrationStatus(handle);
        context.stdout(
          `${formatTable(rows.map((row) => ({ version: row.version, name: row.name, state: row.state, applied_at: row.appliedAt })))}\n`,
        );
        const pending = rows.filter((row) => row.state === 'pending').length;
        context.stdout(
          pending === 0
            ? 'database is up to date\n'
            : `${pending} pending; run genloop db migrate\n`,
        );
      } finally {
        await handle.close();
      }
    });
}
