import { describe, expect, it } from 'vitest';
import { isValidOutput, sitecraftHtml } from './variants.ts';

const site = { title: 'T', sections: [{ id: 'hero', type: 'hero', html: '<p>x</p>' }] };

describe('isValidOutput', () => {
  it('sitecraft: a site, a patch-mode { site, operations }, or its JSON text', () => {
    expect(isValidOutput('sitecraft', site)).toBe(true);
    expect(isValidOutput('sitecraft', { site, operations: [] })).toBe(true);
    expect(isValidOutput('sitecraft', JSON.stringify(site))).toBe(true);
    expect(isValidOutput('sitecraft', { title: 'T', sections: [] })).toBe(false);
    expect(
      isValidOutput('sitecraft', {
        title: 'T',
        sections: [{ id: 'Bad Id', type: 'hero', html: 'x' }],
      }),
    ).toBe(false);
    expect(isValidOutput('sitecraft', '<section>html only</section>')).toBe(false);
    expect(isValidOutput('sitecraft', 42)).toBe(false);
  });

  it('flashcards: { cards } or a bare array of non-empty cards', () => {
    expect(isValidOutput('flashcards', { cards: [{ front: 'Q', back: 'A' }] })).toBe(true);
    expect(isValidOutput('flashcards', [{ front: 'Q', back: 'A' }])).toBe(true);
    expect(isValidOutput('flashcards', [{ front: ' ', back: 'A' }])).toBe(false);
    expect(isValidOutput('flashcards', [])).toBe(false);
    expect(isValidOutput('flashcards', { cards: [{ front: 'Q' }] })).toBe(false);
  });

  it('interior: 1 to 4 variants with http(s) URLs', () => {
    const variant = { url: 'https://cdn.example/r/1.webp', width: 1024 };
    expect(isValidOutput('interior', { variants: [variant] })).toBe(true);
    expect(isValidOutput('interior', { variants: [variant, variant, variant, variant] })).toBe(
      true,
    );
    expect(isValidOutput('interior', { variants: Array(5).fill(variant) })).toBe(false);
    expect(isValidOutput('interior', { variants: [] })).toBe(false);
    expect(isValidOutput('interior', { variants: [{ url: 'javascript:alert(1)' }] })).toBe(false);
  });

  it('generic: any JSON value', () => {
    expect(isValidOutput('generic', 'text')).toBe(true);
    expect(isValidOutput('generic', { content: 'x' })).toBe(true);
  });
});

describe('sitecraftHtml', () => {
  it('collects section HTML, also from invalid sites, and takes HTML text as is', () => {
    expect(sitecraftHtml(site)).toEqual(['<p>x</p>']);
    expect(sitecraftHtml({ sections: [{ html: '<b>1</b>' }, { html: 2 }] })).toEqual(['<b>1</b>']);
    expect(sitecraftHtml('<section>x</section>')).toEqual(['<section>x</section>']);
    expect(sitecraftHtml({ title: 'no sections' })).toBeUndefined();
    expect(sitecraftHtml(7)).toBeUndefined();
  });
});
