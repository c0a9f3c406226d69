import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrator.ts';
import { createPgliteDb } from '../../src/db/pglite-driver.ts';
import { purgeExpiredAnswers } from '../../src/sql/response-cache.ts';
import {
  countExpiredSemanticAnswers,
  enableSemanticCache,
  purgeExpiredSemanticAnswers,
  semanticCacheSchema,
} from '../../src/sql/semantic-cache.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../helpers/db.ts';
import { gatewayClient } from '../helpers/gateway-client.ts';
import { eventually, type Stack, startStack } from '../helpers/stack.ts';

/**
 * genloop on a Postgres without pgvector. On PGlite the absence is real: an instance opened
 * without the extension offers no `vector`, so the migration itself runs without it. On the
 * Postgres server (which CI gives pgvector) it is simulated: a migrated database from which the
 * semantic cache's table and the extension are dropped, which is what the migration leaves on a
 * server that lacks pgvector.
 */
async function databaseWithoutPgvector(driver: 'pglite' | 'pg'): Promise<TestDatabase> {
  if (driver === 'pglite') {
    const db = await createPgliteDb({ vector: false });
    await migrate(db);
    return { db, driver, url: undefined, dispose: () => db.close() };
  }
  const database = await createTestDatabase('pg');
  await database.db.exec('drop table public.ai_semantic_cache; drop extension vector;');
  return database;
}

const chatCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/chat\/completions$/ }).length;
const embeddingCalls = (stack: Stack) =>
  stack.simulator.requests({ method: 'POST', path: /\/embeddings$/ }).length;

for (const driver of drivers) {
  describe(`genloop on a database without pgvector [${driver}]`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(driver, {}, await databaseWithoutPgvector(driver));
    });
    afterAll(async () => {
      await stack?.close();
    });

    if (driver === 'pglite') {
      it('migrates: every migration applies, and the semantic cache stays off', async () => {
        const db = await createPgliteDb({ vector: false });
        try {
          const result = await migrate(db);
          expect(result.applied).toEqual(loadMigrations().map((migration) => migration.version));
          expect(result.applied).toContain('20260218110000');
          expect(await enableSemanticCache(db)).toBe(false);
          expect(await semanticCacheSchema(db)).toBeUndefined();
          const { rows } = await db.query<{ vector: boolean }>(
            `select exists (select 1 from pg_extension where extname = 'vector') as vector`,
          );
          expect(rows[0]!.vector).toBe(false);
        } finally {
          await db.close();
        }
      });
    }

    it('answers semantic requests from the exact cache, and says so', async () => {
      const userId = randomUUID();
      const openai = await gatewayClient(stack, await stack.token(userId));
      const ask = async (text: string) => {
        const { response } = await openai.chat.completions
          .create(
            { model: 'default', max_tokens: 30, messages: [{ role: 'user', content: text }] },
            { headers: { 'x-genloop-cache': 'semantic' } },
          )
          .withResponse();
        return {
          cache: response.headers.get('x-genloop-cache'),
          semantic: response.headers.get('x-genloop-cache-semantic'),
          timing: response.headers.get('server-timing') ?? '',
        };
      };
      const first = await ask('How do I make flashcards from my notes?');
      expect(first).toMatchObject({ cache: 'miss', semantic: 'unavailable' });
      await eventually(async () =>
        (
          await stack.database.db.query('select 1 from ai_response_cache where scope = $1', [
            userId,
          ])
        ).rowCount > 0
          ? true
          : undefined,
      );
      const chats = chatCalls(stack);
      const again = await ask('How do I make flashcards from my notes?');
      expect(again).toMatchObject({ cache: 'hit', semantic: 'unavailable' });
      expect(again.timing).toMatch(/^cache;dur=/);
      expect(chatCalls(stack)).toBe(chats);
      const paraphrase = await ask('How can I create flash cards from my notes?');
      expect(paraphrase.cache).toBe('miss');
      expect(chatCalls(stack)).toBe(chats + 1);
      expect(embeddingCalls(stack)).toBe(0);
    });

    it('serves /v1/embeddings, which needs no pgvector', async () => {
      const openai = await gatewayClient(stack);
      const answer = await openai.embeddings.create({ model: 'default', input: 'hello there' });
      expect(answer.data[0]?.embedding).toHaveLength(1536);
    });

    it('db prune counts and deletes the exact cache only', async () => {
      const { db } = stack.database;
      expect(await countExpiredSemanticAnswers(db)).toBe(0);
      expect(await purgeExpiredSemanticAnswers(db, 10)).toBe(0);
      expect(await purgeExpiredAnswers(db, 10)).toBeGreaterThanOrEqual(0);
    });
  });
}
