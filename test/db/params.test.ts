import { expect, it } from 'vitest';
import { JsonArrayParam, TextArrayParam } from '../../src/db/params.ts';
import { describeEachDriver } from '../helpers/db.ts';

const ELEMENTS = [
  { text: 'plain ascii', n: 1 },
  { text: 'é, — and 日本語', nested: { list: [1, 2.5, true, null] } },
  { text: 'an emoji 🙂 is a surrogate pair', quote: 'a "quoted" \\ backslash\nand a newline' },
  null,
  'a bare string',
  42,
];

describeEachDriver('a jsonb array parameter built from its elements', (use) => {
  it('reads back as the array JSON.stringify would have sent, every character intact', async () => {
    const { db } = use();
    const { rows } = await db.query<{ value: unknown; length: number }>(
      'select $1::jsonb as value, jsonb_array_length($1::jsonb) as length',
      [JsonArrayParam.storable(ELEMENTS)],
    );
    expect(rows[0]?.value).toEqual(ELEMENTS);
    expect(rows[0]?.length).toBe(ELEMENTS.length);
  });

  it('stores a NUL or a lone surrogate as U+FFFD, in keys and values, and an empty array as []', async () => {
    const { db } = use();
    const { rows } = await db.query<{ odd: unknown; empty: unknown }>(
      'select $1::jsonb as odd, $2::jsonb as empty',
      [
        JsonArrayParam.storable([{ 'k\u0000': 'a\u0000b', lone: 'x\uD800y' }, undefined]),
        JsonArrayParam.storable([]),
      ],
    );
    expect(rows[0]?.odd).toEqual([{ 'k\uFFFD': 'a\uFFFDb', lone: 'x\uFFFDy' }, null]);
    expect(rows[0]?.empty).toEqual([]);
  });

  it('expands into rows with jsonb_to_recordset, a batch of several hundred kilobytes whole', async () => {
    const { db } = use();
    const body = 'Chlorophyll absorbs blue and red light — and reflects green. '.repeat(60);
    const batch = Array.from({ length: 150 }, (_, index) => ({ index, body: `${index}: ${body}` }));
    const { rows } = await db.query<{ count: number; bytes: number; last: string }>(
      `select count(*)::int as count, sum(octet_length(x.body))::int as bytes,
              max(x.body) filter (where x.index = 149) as last
         from jsonb_to_recordset($1::jsonb) as x(index integer, body text)`,
      [JsonArrayParam.storable(batch)],
    );
    expect(rows[0]?.count).toBe(150);
    expect(rows[0]?.bytes).toBe(batch.reduce((sum, item) => sum + Buffer.byteLength(item.body), 0));
    expect(rows[0]?.last).toBe(batch[149]?.body);
  });
});

it("node-postgres's bytes are jsonb's binary input: the version byte 1, then the text in UTF-8", () => {
  const param = JsonArrayParam.storable(ELEMENTS);
  expect(param.text()).toBe(JSON.stringify(ELEMENTS));
  expect(param.toPostgres()).toEqual(
    Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(ELEMENTS), 'utf8')]),
  );
  expect(JsonArrayParam.storable([]).toPostgres()).toEqual(Buffer.from([1, 0x5b, 0x5d]));
});

const TEXTS = [
  'plain',
  '',
  null,
  'a "quoted" \\ backslash, {braces}, commas and NULL',
  'é — 日本語 and 🙂',
  'NULL',
  ' leading and trailing spaces ',
];

describeEachDriver('a text[] parameter in the binary array format', (use) => {
  it('text[]: every element back as it was, nulls and empty strings included, in order', async () => {
    const { db } = use();
    const { rows } = await db.query<{ value: (string | null)[]; nulls: number; length: number }>(
      `select $1::text[] as value, cardinality($1::text[]) as length,
              (select count(*)::int from unnest($1::text[]) as t(v) where v is null) as nulls`,
      [new TextArrayParam(TEXTS)],
    );
    expect(rows[0]?.value).toEqual(TEXTS);
    expect(rows[0]?.length).toBe(TEXTS.length);
    expect(rows[0]?.nulls).toBe(1);
  });

  it('an empty text[] is an empty array', async () => {
    const { db } = use();
    const { rows } = await db.query<{ texts: number }>('select cardinality($1::text[]) as texts', [
      new TextArrayParam([]),
    ]);
    expect(rows[0]).toEqual({ texts: 0 });
  });

  it('unnests beside a plain array into rows, a thousand of each as a completion writes them', async () => {
    const { db } = use();
    const ids = Array.from(
      { length: 1000 },
      (_, n) => `0190f3a2-7c4e-7b21-9a3d-${String(n).padStart(12, '0')}`,
    );
    const fronts = ids.map((_, n) => `card ${n}: "front" — ${'x'.repeat(n % 50)}`);
    const { rows } = await db.query<{ id: string; front: string }>(
      'select id::text as id, front from unnest($1::uuid[], $2::text[]) with ordinality as c(id, front, n) order by n',
      [ids, new TextArrayParam(fronts)],
    );
    expect(rows.map((row) => row.id)).toEqual(ids);
    expect(rows.map((row) => row.front)).toEqual(fronts);
  });
});

it("text[]'s bytes: one dimension of text (oid 25), each element a length and its UTF-8 bytes", () => {
  const bytes = new TextArrayParam(['é', null]).toPostgres();
  expect([...bytes]).toEqual([
    ...[0, 0, 0, 1], // one dimension
    ...[0, 0, 0, 1], // holds a null
    ...[0, 0, 0, 25], // text
    ...[0, 0, 0, 2], // two elements
    ...[0, 0, 0, 1], // from index 1
    ...[0, 0, 0, 2, 0xc3, 0xa9], // 'é'
    ...[0xff, 0xff, 0xff, 0xff], // null
  ]);
});
