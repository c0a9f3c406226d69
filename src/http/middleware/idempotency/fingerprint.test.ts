import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './fingerprint.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson(JSON.parse('{ "b": [ { "z": 1, "a": 2.0 } ], "a": "\\u0041" }'))).toBe(
      '{"a":"A","b":[{"a":2,"z":1}]}',
    );
  });

  it('is the same for any re-serialisation of a value, and parses back to it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), (value, indent) => {
        const canonical = canonicalJson(value);
        expect(canonicalJson(JSON.parse(JSON.stringify(value, null, indent)))).toBe(canonical);
        expect(JSON.parse(canonical)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
