import { describe, expect, it } from 'vitest';
import { nestingDepth } from './index.ts';

describe('nestingDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(nestingDepth('"plain"')).toBe(0);
    expect(nestingDepth('{"a": [1, {"b": []}]}')).toBe(4);
    expect(nestingDepth('{"text": "[[[{{{ not nesting"}')).toBe(1);
    expect(nestingDepth('{"q": "a \\" quote, then [[[", "n": [1]}')).toBe(2);
    expect(nestingDepth('{"backslash": "\\\\", "n": [[1]]}')).toBe(3);
    expect(nestingDepth(`${'['.repeat(500)}${']'.repeat(500)}`)).toBe(500);
  });
});
