/**
 * The vocabulary of the interior flow (docs/interior.md): modes with their required inputs,
 * styles and room types with the words the prompt templates use for them, aspect ratios and
 * quality tiers. Request validation and prompt building both read from here.
 */

export const MODES = ['redesign', 'staging', 'compose', 'imagine'] as const;
export type Mode = (typeof MODES)[number];

/** What each mode needs besides the common fields. */
export const MODE_RULES: Readonly<
  Record<
    Mode,
    {
      minImages: number;
      maxImages: number;
      /** Fields that must be present for this mode. */
      requires: readonly ('prompt' | 'style' | 'room_type')[];
      summary: string;
    }
  >
> = {
  redesign: {
    minImages: 1,
    maxImages: 1,
    requires: ['style'],
    summary: 'restyle the room in one photo, keeping its architecture',
  },
  staging: {
    minImages: 1,
    maxImages: 1,
    requires: ['room_type'],
    summary: 'furnish the empty room in one photo',
  },
  compose: {
    minImages: 2,
    maxImages: 4,
    requires: [],
    summary: 'place the pieces of 1-3 reference photos into the room of the first photo',
  },
  imagine: {
    minImages: 0,
    maxImages: 0,
    requires: ['prompt'],
    summary: 'design a room from a text description alone',
  },
};

export const ASPECT_RATIOS = ['1:1', '4:3', '3:4', '3:2', '2:3', '16:9', '9:16'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

export const QUALITIES = ['draft', 'standard', 'high'] as const;
export type Quality = (typeof QUALITIES)[number];

export const MAX_VARIANTS = 4;
export const MAX_PROMPT_LENGTH = 1000;

/** Styles and the description a template puts in the prompt. */
export const STYLES = {
  modern: 'modern style: clean lines, neutral palette, matte black accents, sleek furniture',
  scandinavian:
    'Scandinavian style: pale oak, white walls, wool and linen textiles, simple functional furniture',
  japandi:
    'Japandi style: low natural-timber furniture, muted earthy tones, paper lighting, calm uncluttered space',
  minimalist: 'minimalist style: very few carefully chosen pieces, hidden storage, soft whites',
  industrial:
    'industrial style: exposed brick, steel and reclaimed timber, leather seating, Edison lighting',
  mid_century:
    'mid-century modern style: walnut furniture with tapered legs, mustard and teal accents, organic shapes',
  coastal:
    'Australian coastal style: whitewashed timber, linen, rattan and jute, sandy neutrals with ocean blues',
  hamptons:
    'Hamptons style: crisp white and navy, shaker joinery, slipcovered sofas, polished nickel fittings',
  farmhouse:
    'modern farmhouse style: shiplap, warm timber, black iron fittings, vintage pieces, cosy textiles',
  bohemian:
    'bohemian style: layered rugs and cushions, macramé, rattan, lots of indoor plants, warm earthy colours',
  traditional:
    'traditional style: classic moulded details, rich timber, tufted upholstery, symmetrical layout',
  luxury:
    'contemporary luxury style: natural stone, brushed brass, velvet upholstery, statement lighting',
} as const;
export type Style = keyof typeof STYLES;
export const STYLE_NAMES = Object.keys(STYLES) as Style[];

/** Room types and how a template names them. */
export const ROOM_TYPES = {
  living_room: 'living room',
  bedroom: 'bedroom',
  kitchen: 'kitchen',
  bathroom: 'bathroom',
  dining_room: 'dining room',
  home_office: 'home office',
  kids_room: "children's bedroom",
  laundry: 'laundry',
  entryway: 'entryway',
  alfresco: 'covered alfresco entertaining area',
} as const;
export type RoomType = keyof typeof ROOM_TYPES;
export const ROOM_TYPE_NAMES = Object.keys(ROOM_TYPES) as RoomType[];
