import { expect, it } from 'vitest';
import { JsonArrayParam } from '../../src/db/json-array.ts';
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
