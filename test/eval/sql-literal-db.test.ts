import fc from 'fast-check';
import { expect, it } from 'vitest';
import { sqlJsonb, sqlLiteral } from '../../src/eval/sql-literal.ts';
import { isStorableText } from '../../src/lib/storable-text.ts';
import { describeEachDriver } from '../helpers/db.ts';

const NASTY = [
  '',
  "'",
  "''",
  "it's",
  '\\',
  "\\'",
  "'\\",
  "E'\\x41'",
  "'; drop table ai_eval_runs; --",
  '$$',
  '$tag$ body $tag$',
  '/* comment */ -- comment',
  'line\nbreak\r\nand\ttab',
  '\u0001\u001f\u007f',
  'ünïcødé 😀 𝄞 עברית',
  '\\u0000 written out',
  '"double" `back`',
  ';',
  'a'.repeat(10_000),
];

describeEachDriver('SQL literals round-trip through Postgres', (use) => {
  it.each(NASTY.map((value) => [JSON.stringify(value).slice(0, 60), value]))(
    '%s',
    async (_label, value) => {
      const { rows } = await use().db.query<{ value: string }>(
        `select ${sqlLiteral(value)}::text as value`,
      );
      expect(rows[0]!.value).toBe(value);
    },
  );

  it('means the same with standard_conforming_strings off', async () => {
    const values = ['\\', "\\'", 'C:\\temp\\new', "it's"];
    const result = await use().db.transaction(async (tx) => {
      await tx.query(`set local standard_conforming_strings = off`);
      const { rows } = await tx.query<{ value: string }>(
        `select unnest(array[${values.map((value) => sqlLiteral(value)).join(', ')}]::text[]) as value`,
      );
      return rows.map((row) => row.value);
    });
    expect(result).toEqual(values);
  });

  it('round-trips any storable string and JSON document (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 200 }).filter(isStorableText),
        fc.jsonValue(),
        async (text, json) => {
          const clean = JSON.parse(JSON.stringify(json).replaceAll('\\u0000', ''));
          const { rows } = await use().db.query<{ text: string; json: unknown }>(
            `select ${sqlLiteral(text)}::text as text, ${sqlJsonb(clean)} as json`,
          );
          expect(rows[0]!.text).toBe(text);
          expect(rows[0]!.json).toEqual(clean);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes numbers, booleans and null that Postgres reads back', async () => {
    const { rows } = await use().db.query(
      `select ${sqlLiteral(-3)}::int as a, ${sqlLiteral(0.95)}::numeric as b, ${sqlLiteral(true)} as c, ${sqlLiteral(null)}::text as d, 1 - ${sqlLiteral(-1)} as e`,
    );
    expect(rows[0]).toEqual({ a: -3, b: 0.95, c: true, d: null, e: 2 });
  });
});
