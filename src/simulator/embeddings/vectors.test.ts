import { describe, expect, it } from 'vitest';
import { cosineDistance, embedText, normaliseWords, stem } from './vectors.ts';

/** The semantic cache's default threshold: paraphrases must land under it. */
const NEAR = 0.1;
/** Unrelated requests, and requests that differ in what they ask for, must land above this. */
const FAR = 0.25;

const distance = (a: string, b: string, dimensions = 256) =>
  cosineDistance(embedText(a, dimensions), embedText(b, dimensions));

/** Requests of the product flows and their rewordings, as users write them. */
const PARAPHRASES: Array<readonly [string, string]> = [
  [
    'How do I make flashcards from my lecture notes?',
    'How can I create flash cards from my notes?',
  ],
  ['Turn these notes into flashcards', 'Please turn these notes into flash cards.'],
  ['Suggest a minimalist style for my bedroom', 'Recommend a minimal look for my bedroom.'],
  ['Redesign my living room in a Scandinavian style', 'Redesign my lounge in a Nordic style!'],
  ['Build a website for my bakery', 'Create a web site for my bakery'],
  [
    'Write a landing page for a yoga studio with pricing',
    'Generate a website for a yoga studio, including prices',
  ],
  ["What's the capital of France?", 'What is the capital of France'],
  [
    'Summarize the main causes of World War I',
    'Give me a summary of the main causes of World War I',
  ],
  ["Don't use any blue in the kitchen", 'Do not use any blue in my kitchen'],
];

const UNRELATED: Array<readonly [string, string]> = [
  [
    'How do I make flashcards from my lecture notes?',
    'Redesign my living room in a Scandinavian style',
  ],
  ['Build a website for my bakery', 'What is the capital of France?'],
  ['Name a bird of Tasmania.', 'Name a river of Victoria.'],
  ['Suggest a minimalist style for my bedroom', 'Suggest a minimalist style for my kitchen'],
  ['Build a website for my bakery', 'Build a website for my law firm'],
  ["Don't use any blue in the kitchen", 'Use blue in the kitchen'],
  ['What is the capital of France?', 'What is the capital of Spain?'],
];

describe('the simulator embedding model', () => {
  it('gives unit vectors of the asked size, the same for the same text', () => {
    for (const dimensions of [8, 256, 1536]) {
      const vector = embedText('Make flashcards from my notes', dimensions);
      expect(vector).toHaveLength(dimensions);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 9);
      expect(embedText('Make flashcards from my notes', dimensions)).toEqual(vector);
    }
  });

  for (const dimensions of [256, 1536]) {
    it(`puts paraphrases within ${NEAR} of each other (${dimensions} dimensions)`, () => {
      for (const [a, b] of PARAPHRASES) {
        expect(distance(a, b, dimensions), `${a} | ${b}`).toBeLessThan(NEAR);
      }
    });

    it(`puts unrelated requests, or ones asking for something else, beyond ${FAR} (${dimensions} dimensions)`, () => {
      for (const [a, b] of UNRELATED) {
        expect(distance(a, b, dimensions), `${a} | ${b}`).toBeGreaterThan(FAR);
      }
    });
  }

  it('texts without a single word still get distinct unit vectors', () => {
    const dots = embedText('...', 256);
    const dashes = embedText('---', 256);
    expect(Math.hypot(...dots)).toBeCloseTo(1, 9);
    expect(cosineDistance(dots, dashes)).toBeGreaterThan(FAR);
  });

  it('normalises case, accents, punctuation, stop words, inflections and synonyms', () => {
    expect(normaliseWords('Créez des FLASH-CARDS, s’il vous plaît')).toContain('flashcard');
    expect(normaliseWords('Please generate websites for the cafés')).toEqual([
      'make',
      'website',
      'cafe',
    ]);
    expect(normaliseWords("I don't want red")).toEqual(['not_red']);
    expect(normaliseWords('the of and')).toEqual(['the', 'of', 'and']);
    expect(['studies', 'running', 'painted', 'boxes', 'glass', 'quickly'].map(stem)).toEqual([
      'study',
      'run',
      'paint',
      'box',
      'glass',
      'quick',
    ]);
  });
});
