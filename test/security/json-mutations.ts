import fc from 'fast-check';
import { hostileKey, hostileValue } from './hostile-values.ts';

/**
 * Ways to break a valid JSON value: its structure (a field replaced, added, removed or nested
 * deep), its text (truncated, not-JSON tokens, raw escapes of lone surrogates and NUL, duplicate
 * keys, a BOM, deep brackets) and its bytes (sequences that are not UTF-8, other encodings).
 */

type Path = (string | number)[];

/** Every path into a JSON value, the root (`[]`) first. */
export function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (prefix.length >= 6) return out;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) pathsOf(item, [...prefix, index], out);
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      pathsOf((value as Record<string, unknown>)[key], [...prefix, key], out);
    }
  }
  return out;
}

/** A copy of `value` (own `__proto__` keys stay own keys). */
const clone = (value: unknown): unknown =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value));

function setOwn(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** A change to the structure of a valid value, applied by {@link applyStructural}. */
export type StructuralMutation =
  | { kind: 'none' }
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'add'; at: number; key: string; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'nest'; at: number; depth: number; shape: 'array' | 'object' }
  | { kind: 'root'; value: unknown };

export const structuralMutation: fc.Arbitrary<StructuralMutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: hostileValue }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      at: fc.nat(),
      key: hostileKey,
      value: hostileValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('nest' as const),
      at: fc.nat(),
      depth: fc.oneof(fc.integer({ min: 60, max: 70 }), fc.integer({ min: 100, max: 2_000 })),
      shape: fc.constantFrom('array' as const, 'object' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('root' as const), value: hostileValue }) },
);

function nested(value: unknown, depth: number, shape: 'array' | 'object'): unknown {
  let out = value;
  for (let level = 0; level < depth; level++) out = shape === 'array' ? [out] : { a: out };
  return out;
}

/** `value` with the mutation applied at the mutation's path (taken modulo the paths there are). */
export function applyStructural(value: unknown, mutation: StructuralMutation): unknown {
  if (mutation.kind === 'none') return value;
  if (mutation.kind === 'root') return mutation.value;
  const copy = clone(value);
  const paths = pathsOf(copy);
  const path = paths[mutation.at % paths.length]!;
  const replace = (replacement: unknown): unknown => {
    if (path.length === 0) return replacement;
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as never)[key], copy);
    setOwn(parent as object, path.at(-1)!, replacement);
    return copy;
  };
  const current = path.reduce<unknown>((node, key) => (node as never)[key], copy);
  switch (mutation.kind) {
    case 'set':
      return replace(mutation.value);
    case 'nest':
      return replace(nested(current, mutation.depth, mutation.shape));
    case 'add': {
      if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
        setOwn(current, mutation.key, mutation.value);
        return copy;
      }
      return replace({ [mutation.key]: mutation.value });
    }
    case 'delete': {
      if (path.length === 0) return undefined;
      const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as never)[key], copy);
      if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
      else delete (parent as Record<string, unknown>)[String(path.at(-1))];
      return copy;
    }
  }
}

/** Tokens that are not JSON, or JSON escapes of text Postgres cannot store. */
const RAW_TOKENS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-1e999',
  '0x1F',
  '01',
  '+1',
  '.5',
  '1.',
  '-',
  "'single'",
  'undefined',
  '//c\n',
  '/*c*/',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\u0000"',
  '"\\x41"',
  '"\\u12"',
  '"\\"',
  '\u0000',
  '\u0001',
  ',',
  ':',
  '{',
  '[',
  '"',
  '\\',
];

/** String contents as raw JSON escapes: lone surrogates, NUL, reversed and valid pairs. */
const RAW_STRING_CONTENTS = [
  '\\ud800',
  'a\\ud800b',
  '\\udfff\\ud800',
  '\\udbff',
  '\\u0000',
  'x\\u0000y',
  '\\ud83d\\ude00',
  '\\uDBFF\\uDFFF',
  '\\u0001\\u001f',
  '\\ud800\\u0000',
];

/** A change to the JSON text, applied by {@link applyText}. */
export type TextMutation =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; junk: string }
  | { kind: 'insert'; at: number; token: string }
  | { kind: 'number'; token: string }
  | { kind: 'string'; at: number; content: string }
  | { kind: 'duplicate-key'; token: string }
  | { kind: 'bom' }
  | { kind: 'wrap'; depth: number };

export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      junk: fc.constantFrom('}', ']', ',', 'garbage', '\u0000', '{"a":1}', '\n\n', ' x'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      token: fc.constantFrom(...RAW_TOKENS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('number' as const),
      token: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-0', '1e-999', '1E400'),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('string' as const),
      at: fc.nat(),
      content: fc.constantFrom(...RAW_STRING_CONTENTS),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('duplicate-key' as const),
      token: fc.constantFrom('1', '"x"', 'null', '{}', '"\\ud800"'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'bom' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('wrap' as const),
      depth: fc.oneof(fc.integer({ min: 64, max: 70 }), fc.integer({ min: 200, max: 100_000 })),
    }),
  },
);

const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/g;

/** The spans of the string literals of JSON text. */
export function stringLiterals(text: string): [number, number][] {
  return [...text.matchAll(STRING_LITERAL)].map((match) => [
    match.index,
    match.index + match[0].length,
  ]);
}

export function applyText(text: string, mutation: TextMutation): string {
  switch (mutation.kind) {
    case 'none':
      return text;
    case 'truncate':
      return text.slice(0, mutation.at % Math.max(1, text.length));
    case 'append':
      return text + mutation.junk;
    case 'insert': {
      const at = mutation.at % (text.length + 1);
      return text.slice(0, at) + mutation.token + text.slice(at);
    }
    case 'number': {
      const replaced = text.replace(/(?<=[:[,]\s*)-?\d+(\.\d+)?([eE][+-]?\d+)?/, mutation.token);
      return replaced === text ? `{"n":${mutation.token}}` : replaced;
    }
    case 'string': {
      const literals = stringLiterals(text);
      if (literals.length === 0) return `"${mutation.content}"`;
      const [start, end] = literals[mutation.at % literals.length]!;
      return `${text.slice(0, start)}"${mutation.content}"${text.slice(end)}`;
    }
    case 'duplicate-key': {
      const first = /^\{\s*("(?:[^"\\]|\\.)*")\s*:/.exec(text);
      if (!first) return text;
      return `{${first[1]}:${mutation.token},${text.slice(1)}`;
    }
    case 'bom':
      return `\ufeff${text}`;
    case 'wrap':
      return `${'['.repeat(mutation.depth)}${text}${']'.repeat(mutation.depth)}`;
  }
}

/** Byte sequences that are not UTF-8: stray, overlong, surrogates encoded, truncated, too high. */
export const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0x00],
];

/** A change to the encoded bytes, applied by {@link encodeText}. */
export type ByteMutation =
  | { kind: 'utf8' }
  | { kind: 'invalid'; at: number; bytes: number[]; inString: boolean }
  | { kind: 'utf16' }
  | { kind: 'latin1' };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('invalid' as const),
      at: fc.nat(),
      bytes: fc.constantFrom(...INVALID_UTF8),
      inString: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'utf16' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'latin1' as const }) },
);

const encoder = new TextEncoder();

/** The text as bytes, with the byte mutation applied. */
export function encodeText(text: string, mutation: ByteMutation): Uint8Array {
  switch (mutation.kind) {
    case 'utf8':
      return encoder.encode(text);
    case 'utf16':
      return new Uint8Array(
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
      );
    case 'latin1':
      // é in Latin-1 is one byte that UTF-8 does not allow there.
      return new Uint8Array(Buffer.from(text.replace('"', '"é'), 'latin1'));
    case 'invalid': {
      const literals = stringLiterals(text);
      const at =
        mutation.inString && literals.length > 0
          ? literals[mutation.at % literals.length]![0] + 1
          : mutation.at % (text.length + 1);
      return new Uint8Array(
        Buffer.concat([
          encoder.encode(text.slice(0, at)),
          Buffer.from(mutation.bytes),
          encoder.encode(text.slice(at)),
        ]),
      );
    }
  }
}
