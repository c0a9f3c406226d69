import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrator.ts';
import { createEmptyDatabase, drivers, type TestDatabase } from '../helpers/db.ts';
import { expectDbError } from '../helpers/errors.ts';

const ATTEMPT_KEYS = '20260216100000';

/** A folder with the migrations that came before attempts had their own key. */
function migrationsBefore(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'genloop-migrations-'));
  for (const file of readdirSync(MIGRATIONS_DIR)) {
    if (file.endsWith('.sql') && file.slice(0, 14) < version) {
      copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file));
    }
  }
  return dir;
}

async function trainingRow(database: TestDatabase, requestId: string): Promise<string> {
  const { rows } = await database.db.query<{ id: string }>(
    `insert into public.ai_training_examples
       (source, recipe, status, request_id, selected_provider, route_strategy,
        prompt_template_version, latency_ms)
     values ('generation', 'site', 'succeeded', $1, 'openai', 'fallback', 'site-v1', 10)
     returning id`,
    [requestId],
  );
  return rows[0]!.id;
}

function attemptSql(columns: string) {
  return `insert into public.ai_provider_attempts (${columns}, attempt_no, provider, status, latency_ms)`;
}

for (const driver of drivers) {
  describe(`migration ${ATTEMPT_KEYS}_attempt_keys [${driver}]`, () => {
    let database: TestDatabase;
    let dir: string;
    const single = randomUUID();
    const shared = randomUUID();
    let singleExample = '';

    beforeAll(async () => {
      database = await createEmptyDatabase(driver);
      dir = migrationsBefore(ATTEMPT_KEYS);
      await migrate(database.db, { dir });
      singleExample = await trainingRow(database, single);
      await trainingRow(database, shared);
      await trainingRow(database, shared);
      for (const [requestId, attemptNo] of [
        [single, 1],
        [single, 2],
        [shared, 1],
      ] as const) {
        await database.db.query(
          `${attemptSql('request_id')} values ($1, $2, 'openai', 'succeeded', 5)`,
          [requestId, attemptNo],
        );
      }
      await migrate(database.db);
    });

    afterAll(async () => {
      await database?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('attributes earlier attempts whose request id names one training row, and only those', async () => {
      const { rows } = await database.db.query<{
        request_id: string;
        attempt_no: number;
        training_example_id: string | null;
      }>(
        `select request_id, attempt_no, training_example_id from public.ai_provider_attempts
          order by request_id = $1 desc, attempt_no`,
        [single],
      );
      expect(rows).toEqual([
        { request_id: single, attempt_no: 1, training_example_id: singleExample },
        { request_id: single, attempt_no: 2, training_example_id: singleExample },
        { request_id: shared, attempt_no: 1, training_example_id: null },
      ]);
    });

    it('keys new attempts by training row: one request id may have several generations', async () => {
      const requestId = randomUUID();
      const first = await trainingRow(database, requestId);
      const second = await trainingRow(database, requestId);
      const insert = `${attemptSql('training_example_id, request_id')}
        values ($1, $2, 1, 'openai', 'succeeded', 5)
        on conflict (training_example_id, attempt_no) do nothing`;
      expect((await database.db.query(insert, [first, requestId])).rowCount).toBe(1);
      expect((await database.db.query(insert, [second, requestId])).rowCount).toBe(1);
      // A retried write of the same generation's attempt is still skipped.
      expect((await database.db.query(insert, [first, requestId])).rowCount).toBe(0);
    });

    it('refuses a new attempt without its training row key', async () => {
      await expectDbError(
        database.db.query(`${attemptSql('request_id')} values ($1, 1, 'openai', 'succeeded', 5)`, [
          randomUUID(),
        ]),
        '23514',
      );
    });
  });
}
