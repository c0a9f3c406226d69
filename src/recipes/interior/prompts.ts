import { ownEntry } from '../../lib/own-entry.ts';
import { type Mode, ROOM_TYPES, type RoomType, STYLES, type Style } from './catalog.ts';

/** The template version new generations use (stored in ai_generations.prompt_version). */
export const INTERIOR_PROMPT_VERSION = 'interior-v1';

/** What a template needs: the mode and the user's choices (already validated). */
export interface PromptInput {
  mode: Mode;
  prompt?: string | undefined;
  style?: Style | undefined;
  roomType?: RoomType | undefined;
}

/** A built prompt, with the version it came from. */
export interface BuiltPrompt {
  version: string;
  prompt: string;
  /** For models that take one (SDXL-style); flux models ignore it. */
  negativePrompt: string;
}

/** Phrases that make the picture read as an Australian home, the app's market. */
const AUSTRALIAN_CONTEXT =
  'Set in an Australian home: bright natural Australian daylight, locally sourced materials such as spotted gum and blackbutt timber, Australian-style power points and light switches, native Australian plants where plants fit';

/** Keeps the photographed room itself: only furnishings may change. */
const ARCHITECTURE_GUARDRAILS =
  'Keep the architecture exactly as in the photo: the same walls, windows, doors, ceiling, floor plan, camera position and perspective; do not add, move or remove windows, doors or walls';

const PHOTO_QUALITY =
  'Photorealistic interior photograph, professional architectural photography, natural light, sharp detail';

const NEGATIVE =
  'distorted architecture, warped walls, extra windows, extra doors, people, text, watermark, logo, blurry, low quality, cartoon, illustration';

type Template = (input: PromptInput) => string;

const V1: Readonly<Record<Mode, Template>> = {
  redesign: (input) =>
    sentences(
      `Redesign this ${room(input)} in ${style(input)}`,
      input.prompt,
      'Change only the furniture, finishes, colours, lighting and decor',
      ARCHITECTURE_GUARDRAILS,
      AUSTRALIAN_CONTEXT,
      PHOTO_QUALITY,
    ),
  staging: (input) =>
    sentences(
      `Virtually stage this empty ${room(input)} with ${input.style ? `${style(input)} ` : ''}furniture and decor, ready for a real estate listing`,
      input.prompt,
      'Keep the existing floors, walls, built-in joinery and fixtures unchanged; add furniture, rugs, art, lighting and plants at a believable scale',
      ARCHITECTURE_GUARDRAILS,
      AUSTRALIAN_CONTEXT,
      PHOTO_QUALITY,
    ),
  compose: (input) =>
    sentences(
      `Compose a finished ${room(input)}${input.style ? ` in ${style(input)}` : ''}: the first photo is the room, the other photos show pieces to place in it`,
      input.prompt,
      'Place every piece from the reference photos into the room at a realistic scale, matching the room light and perspective',
      ARCHITECTURE_GUARDRAILS,
      AUSTRALIAN_CONTEXT,
      PHOTO_QUALITY,
    ),
  imagine: (input) =>
    sentences(
      input.prompt,
      `Show it as a ${room(input)}${input.style ? ` in ${style(input)}` : ''}`,
      'Architecturally plausible proportions, realistic materials and furniture at a believable scale',
      AUSTRALIAN_CONTEXT,
      PHOTO_QUALITY,
    ),
};

const TEMPLATES: Readonly<Record<string, Readonly<Record<Mode, Template>>>> = {
  [INTERIOR_PROMPT_VERSION]: V1,
};

/** Template versions genloop can build (older ones stay so a stored job can be rebuilt). */
export const PROMPT_VERSIONS: readonly string[] = Object.keys(TEMPLATES);

/**
 * Builds the prompt of a generation: the mode's template with the style's and room type's
 * words, the user's own text, the Australian context and (for the photo modes) the guardrails
 * that keep the room's architecture. Pure; throws a RangeError for an unknown version.
 *
 * @example
 * buildPrompt({ mode: 'redesign', style: 'coastal', roomType: 'living_room' }).prompt
 * // 'Redesign this living room in Australian coastal style: ... .'
 */
export function buildPrompt(
  input: PromptInput,
  version: string = INTERIOR_PROMPT_VERSION,
): BuiltPrompt {
  const templates = ownEntry(TEMPLATES, version);
  if (!templates) throw new RangeError(`unknown interior prompt version ${version}`);
  return { version, prompt: templates[input.mode](input), negativePrompt: NEGATIVE };
}

function room(input: PromptInput): string {
  return input.roomType ? ROOM_TYPES[input.roomType] : 'room';
}

function style(input: PromptInput): string {
  return input.style ? STYLES[input.style] : 'a tasteful contemporary style';
}

/** Joins parts as sentences, skipping empty ones and ending each with one full stop. */
function sentences(...parts: (string | undefined)[]): string {
  return parts
    .map((part) => part?.trim().replace(/[.\s]+$/, ''))
    .filter((part): part is string => part !== undefined && part !== '')
    .map((part) => `${part}.`)
    .join(' ');
}
