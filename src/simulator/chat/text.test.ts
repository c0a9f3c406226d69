import { describe, expect, it } from 'vitest';
import { keywords, words } from './text.ts';

describe('words', () => {
  it('keeps inner apostrophes and hyphens in ASCII text', () => {
    expect(words("It's a well-known fact: 42 cats -- don't 'quote' x-")).toEqual([
      "It's",
      'a',
      'well-known',
      'fact',
      '42',
      'cats',
      "don't",
      'quote',
      'x',
    ]);
  });

  it('reads letters of any script and the typographic apostrophe', () => {
    expect(words('Ça va? L’été à Kraków, 東京 e-mail')).toEqual([
      'Ça',
      'va',
      'L’été',
      'à',
      'Kraków',
      '東京',
      'e-mail',
    ]);
  });

  it('gives the same words for ASCII text whichever pattern reads it', () => {
    const ascii = 'Photosynthesis turns light into sugar; chlorophyll-rich leaves do it best.';
    // The trailing non-ASCII character sends the text through the Unicode pattern.
    expect(words(`${ascii} é`)).toEqual([...words(ascii), 'é']);
  });

  it('finds distinct keywords without stop words or numbers', () => {
    expect(keywords('The cell and the cell wall: 2 walls, mitochondria', 3)).toEqual([
      'cell',
      'wall',
      'walls',
    ]);
  });
});
