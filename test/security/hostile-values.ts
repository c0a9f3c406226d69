import fc from 'fast-check';
import { type JsonSchema, type OpenApiDocument, resolve } from './openapi.ts';

/**
 * Values a schema would not expect: text Postgres cannot store (NUL, lone surrogates), text
 * that looks like another type or like an injection, numbers at and past every boundary.
 */

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d'];

export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n\r',
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001f\u007f',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '\ud83d',
  '\u2028\u2029',
  '\ufeff',
  '\u202e',
  '\ufffd',
  '\u{10ffff}',
  '👍🏽',
  'NaN',
  'Infinity',
  '-1',
  '1e999',
  'null',
  'true',
  '[]',
  '{}',
  "'; drop table public.ai_generations; --",
  "' or '1'='1",
  '$1',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection probe, sent as text.
  '${7*7}',
  '{{7*7}}',
  '%s%n%x',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '<script>alert(1)</script>',
  'file:///etc/passwd',
  'http://169.254.169.254/latest/meta-data/',
  'http://127.0.0.1:1/',
  '00000000-0000-0000-0000-000000000000',
  '2024-02-30T00:00:00Z',
  '-infinity',
  'epoch',
];

/** Text with a NUL or a lone UTF-16 surrogate somewhere: what Postgres cannot store. */
export const unstorableText = fc
  .tuple(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('\u0000', ...LONE_SURROGATES),
    fc.string({ maxLength: 20 }),
  )
  .map(([before, bad, after]) => `${before}${bad}${after}`);

/** Long text, some of it made of characters that are several bytes or unstorable. */
export const longString = fc
  .tuple(
    fc.integer({ min: 1_000, max: 150_000 }),
    fc.constantFrom('a', 'é', '€', '😀', '\u0000', ' ', '\ud800', 'ab\ud800'),
  )
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: unstorableText },
  { weight: 1, arbitrary: longString },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    -0.5,
    1.0000001,
    1e308,
    -1e308,
    5e-324,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 32,
    2 ** 53 + 2,
    2 ** 63,
    -(2 ** 63),
    1e21,
    123456789.12345679,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** A value of the wrong kind for a field of this schema, or of the right kind at its edges. */
export function hostileFor(
  document: OpenApiDocument,
  raw: JsonSchema | undefined,
): fc.Arbitrary<unknown> {
  const schema = resolve(document, raw);
  const types = ([] as unknown[]).concat(schema.type ?? []);
  if (types.includes('string')) {
    const freeText = schema.enum === undefined && schema.format === undefined && !schema.pattern;
    return fc.oneof(
      { weight: freeText ? 6 : 2, arbitrary: unstorableText },
      { weight: 3, arbitrary: hostileString },
      { weight: 2, arbitrary: hostileValue },
    );
  }
  if (types.includes('integer') || types.includes('number')) {
    return fc.oneof(
      { weight: 3, arbitrary: hostileNumber },
      { weight: 1, arbitrary: hostileValue },
    );
  }
  return hostileValue;
}

/** `arbitrary`'s value `percent` % of the time, null otherwise. */
export function sometimes<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: 100 - percent, arbitrary: fc.constant(null) },
    { weight: percent, arbitrary },
  );
}

/** Header values the fetch API lets through: any byte but NUL, CR and LF. */
export const headerSafe = (maxLength: number) =>
  fc.string({
    unit: fc
      .integer({ min: 1, max: 255 })
      .filter((code) => code !== 10 && code !== 13)
      .map((code) => String.fromCharCode(code)),
    maxLength,
  });

/** An object whose own keys are the ones prototype pollution looks for. */
const prototypeKeys = fc.constant(
  JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [[]], [null], { '': null }),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: prototypeKeys },
);

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '',
    ' ',
    '$where',
    '\u0000',
    '\ud800',
    'a'.repeat(10_000),
    'id',
    'user_id',
    'status',
  ),
  fc.string({ maxLength: 12 }),
);
