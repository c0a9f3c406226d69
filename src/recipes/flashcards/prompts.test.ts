import { describe, expect, it } from 'vitest';
import { siteTemplate } from '../site/prompts.ts';
import { DEFAULT_FLASHCARD_TEMPLATE_VERSION, flashcardTemplate } from './prompts.ts';

describe('prompt templates by version', () => {
  it('a version named like what every object inherits falls back to the default', () => {
    for (const version of ['valueOf', 'constructor', '__proto__', 'toString']) {
      const flashcards = flashcardTemplate(version);
      expect(flashcards.version, version).toBe(DEFAULT_FLASHCARD_TEMPLATE_VERSION);
      expect(flashcards.template.user('text'), version).toContain('<source>');
      const site = siteTemplate(version);
      expect(site.version, version).toBe('site-v1');
    }
  });

  it('a known version is used as asked', () => {
    expect(flashcardTemplate('flashcards-v1').version).toBe('flashcards-v1');
    expect(siteTemplate('site-v1').version).toBe('site-v1');
  });
});
