import { describe, expect, it } from 'vitest';
import { MODES, ROOM_TYPES, STYLES } from './catalog.ts';
import { buildPrompt, INTERIOR_PROMPT_VERSION, PROMPT_VERSIONS } from './prompts.ts';

const AUSTRALIAN = 'Set in an Australian home';
const GUARDRAIL = 'Keep the architecture exactly as in the photo';

describe('interior prompt templates', () => {
  it('redesign: the room, the style words, the user text, the guardrails and the Australian context', () => {
    const built = buildPrompt({
      mode: 'redesign',
      style: 'coastal',
      roomType: 'living_room',
      prompt: 'keep the fireplace',
    });
    expect(built.version).toBe(INTERIOR_PROMPT_VERSION);
    expect(built.prompt).toMatch(/^Redesign this living room in Australian coastal style/);
    expect(built.prompt).toContain(STYLES.coastal);
    expect(built.prompt).toContain('keep the fireplace.');
    expect(built.prompt).toContain('Change only the furniture');
    expect(built.prompt).toContain(GUARDRAIL);
    expect(built.prompt).toContain(AUSTRALIAN);
    expect(built.negativePrompt).toContain('extra windows');
  });

  it('staging: furnishes the empty room, keeps fixtures, guardrails and context', () => {
    const built = buildPrompt({ mode: 'staging', roomType: 'bedroom', style: 'japandi' });
    expect(built.prompt).toMatch(/^Virtually stage this empty bedroom with Japandi style/);
    expect(built.prompt).toContain(
      'Keep the existing floors, walls, built-in joinery and fixtures',
    );
    expect(built.prompt).toContain(GUARDRAIL);
    expect(built.prompt).toContain(AUSTRALIAN);
  });

  it('staging without a style stays well-formed', () => {
    const built = buildPrompt({ mode: 'staging', roomType: 'kitchen' });
    expect(built.prompt).toMatch(/^Virtually stage this empty kitchen with furniture and decor/);
    expect(built.prompt).not.toContain('undefined');
  });

  it('compose: names the room photo and the reference pieces', () => {
    const built = buildPrompt({
      mode: 'compose',
      roomType: 'dining_room',
      style: 'mid_century',
      prompt: 'the green chairs around the table',
    });
    expect(built.prompt).toMatch(/^Compose a finished dining room in mid-century modern style/);
    expect(built.prompt).toContain('the first photo is the room, the other photos show pieces');
    expect(built.prompt).toContain('the green chairs around the table.');
    expect(built.prompt).toContain(GUARDRAIL);
    expect(built.prompt).toContain(AUSTRALIAN);
  });

  it('imagine: starts from the user text, adds room and style, and has no photo guardrails', () => {
    const built = buildPrompt({
      mode: 'imagine',
      prompt: 'A sunlit reading nook under the stairs',
      roomType: 'alfresco',
      style: 'hamptons',
    });
    expect(built.prompt).toMatch(
      /^A sunlit reading nook under the stairs\. Show it as a covered alfresco/,
    );
    expect(built.prompt).toContain(STYLES.hamptons);
    expect(built.prompt).toContain(AUSTRALIAN);
    expect(built.prompt).not.toContain(GUARDRAIL);
  });

  it('every mode, style and room type builds a prompt without gaps', () => {
    for (const mode of MODES) {
      for (const style of Object.keys(STYLES) as (keyof typeof STYLES)[]) {
        for (const roomType of Object.keys(ROOM_TYPES) as (keyof typeof ROOM_TYPES)[]) {
          const { prompt } = buildPrompt({ mode, style, roomType, prompt: 'x' });
          expect(prompt).toContain(ROOM_TYPES[roomType]);
          expect(prompt).not.toMatch(/undefined|null|\.\.|\s{2}/);
        }
      }
    }
  });

  it('is pure: the same input builds the same prompt', () => {
    const input = {
      mode: 'redesign' as const,
      style: 'luxury' as const,
      roomType: 'bathroom' as const,
    };
    expect(buildPrompt(input)).toEqual(buildPrompt({ ...input }));
  });

  it('knows its versions and refuses an unknown one', () => {
    expect(PROMPT_VERSIONS).toContain(INTERIOR_PROMPT_VERSION);
    expect(() => buildPrompt({ mode: 'imagine', prompt: 'x' }, 'interior-v0')).toThrow(RangeError);
  });
});
