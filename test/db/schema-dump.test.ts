import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DUMP_COMMAND,
  dumpSchema,
  normaliseSchemaDump,
  SCHEMA_FILE,
  withoutSemanticCache,
} from '../../scripts/dump-schema.ts';
import { semanticCacheSchema } from '../../src/sql/semantic-cache.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../helpers/db.ts';

describe('supabase/schema.sql', () => {
  it('is committed in normalised form', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed).toContain('CREATE TABLE public.ai_training_examples');
    expect(normaliseSchemaDump(committed)).toBe(committed);
  });

  it('normalising drops comments, SET lines, restrict lines and blank-line runs only', () => {
    const raw = [
      '--',
      '-- PostgreSQL database dump',
      '--',
      '\\restrict AbC123',
      'SET statement_timeout = 0;',
      "SELECT pg_catalog.set_config('search_path', '', false);",
      '',
      '',
      '',
      'CREATE TABLE public.t (',
      '    id integer -- keeps an inline comment',
      ');   ',
      '',
      '\\unrestrict AbC123',
      '',
    ].join('\r\n');
    expect(normaliseSchemaDump(raw)).toBe(
      'CREATE TABLE public.t (\n    id integer -- keeps an inline comment\n);\n',
    );
  });

  it('holds the semantic cache, which a server without pgvector lacks and nothing else', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed).toContain('CREATE TABLE public.ai_semantic_cache (');
    expect(committed).toContain('USING hnsw (embedding extensions.vector_cosine_ops)');
    const without = withoutSemanticCache(committed);
    expect(without).not.toMatch(/^(CREATE|ALTER) .*ai_semantic_cache/m);
    // The function that creates it once pgvector is there stays.
    expect(without).toContain('CREATE FUNCTION genloop.enable_semantic_cache()');
    const removed = committed.split('\n').length - without.split('\n').length;
    expect(removed).toBeGreaterThan(20);
    expect(removed).toBeLessThan(60);
  });
});

// pg_dump needs a real server: this suite exists only when DATABASE_URL is set.
if (drivers.includes('pg')) {
  describe('schema dump [pg]', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase('pg');
    });
    afterAll(async () => {
      await database?.dispose();
    });

    it('the committed supabase/schema.sql matches what the migrations produce', async () => {
      const actual = dumpSchema(database.url!);
      const committed = readFileSync(SCHEMA_FILE, 'utf8');
      // Without pgvector on the server the migrations leave the semantic cache out.
      const pgvector = (await semanticCacheSchema(database.db)) !== undefined;
      expect(
        actual,
        `supabase/schema.sql is out of date with the migrations; run \`${DUMP_COMMAND}\` on a server with pgvector and commit the result`,
      ).toBe(pgvector ? committed : withoutSemanticCache(committed));
    });

    it('a server without pgvector dumps the committed schema less the semantic cache', async () => {
      const absent = await createTestDatabase('pg');
      try {
        await absent.db.exec(
          'drop table if exists public.ai_semantic_cache; drop extension if exists vector;',
        );
        const committed = readFileSync(SCHEMA_FILE, 'utf8');
        expect(dumpSchema(absent.url!)).toBe(withoutSemanticCache(committed));
      } finally {
        await absent.dispose();
      }
    });
  });
}
