import { describe, expect, it } from 'vitest';
import {
  findUnstorableText,
  isStorableText,
  mayHoldUnstorableText,
  storableJson,
  toStorableText,
  wasUtf8In,
} from './storable-text.ts';

describe('storable text', () => {
  it('tells NUL characters and lone surrogates from valid text, pairs included', () => {
    expect(isStorableText('plain, accented é and an emoji 😀')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('lone high \uD83D here')).toBe(false);
    expect(isStorableText('lone low \uDE00 here')).toBe(false);
    expect(toStorableText('a\u0000b\uD83D!\uDE00😀')).toBe('a\uFFFDb\uFFFD!\uFFFD😀');
  });

  it('storableJson serialises ordinary values exactly as JSON.stringify does', () => {
    const value = {
      prompt: 'A bakery in Lyon 😀',
      literal: 'a backslash then u0000: \\u0000',
      nested: [{ n: 1, ok: true, none: null }],
    };
    expect(storableJson(value)).toBe(JSON.stringify(value));
  });

  it('storableJson replaces NUL and lone surrogates in values and keys, and nothing else', () => {
    const value = {
      prompt: 'a\u0000b',
      output: { content: ['x\uD800y', 'fine 😀'] },
      'key\u0000': 1,
    };
    expect(JSON.parse(storableJson(value))).toEqual({
      prompt: 'a\uFFFDb',
      output: { content: ['x\uFFFDy', 'fine 😀'] },
      'key\uFFFD': 1,
    });
  });

  it('finds the path of the first string that cannot be stored', () => {
    expect(findUnstorableText({ a: 'ok', b: [1, 'fine', { c: 'x\u0000' }] })).toEqual([
      'b',
      '2',
      'c',
    ]);
    expect(findUnstorableText({ prompt: 'ok', list: ['\uDC00'] })).toEqual(['list', '0']);
    expect(findUnstorableText({ 'k\u0000': 'v' })).toEqual(['k\uFFFD']);
    expect(findUnstorableText({ a: 'ok', b: [1, null, true] })).toBeUndefined();
  });

  it('the JSON pre-check has no false negatives', () => {
    for (const text of ['a\u0000b', '\uD800', '\uDFFF', 'x\uDBFFy']) {
      expect(mayHoldUnstorableText(JSON.stringify({ text }))).toBe(true);
    }
    expect(mayHoldUnstorableText(JSON.stringify({ text: 'plain é 中文' }))).toBe(false);
  });

  it('tells a form field that held U+FFFD from one a decoder repaired', () => {
    const decoder = new TextDecoder();
    const sent = Buffer.from('prompt=a loft \uFFFD\r\n');
    expect(wasUtf8In(decoder.decode(sent.subarray(7, 15)), sent)).toBe(true);
    const wtf8 = Buffer.from([0x70, 0x3d, 0x61, 0xed, 0xa0, 0x80, 0x62]);
    expect(wasUtf8In(decoder.decode(wtf8.subarray(2)), wtf8)).toBe(false);
    expect(wasUtf8In('plain', Buffer.alloc(0))).toBe(true);
  });
});
