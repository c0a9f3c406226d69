import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DUMP_COMMAND,
  dumpSchema,
  normaliseSchemaDump,
  SCHEMA_FILE,
} from '../../scripts/dump-schema.ts';
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

    it('the committed supabase/schema.sql matches what the migrations produce', () => {
      const actual = dumpSchema(database.url!);
      const committed = readFileSync(SCHEMA_FILE, 'utf8');
      expect(
        actual,
        `supabase/schema.sql is out of date with the migrations; run \`${DUMP_COMMAND}\` and commit the result`,
      ).toBe(committed);
    });
  });
}
