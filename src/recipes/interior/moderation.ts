/** The one message a refused request gets: it says what happened, not which rule fired. */
export const MODERATION_MESSAGE =
  'the request contains content that cannot be generated; please rephrase it';

export type ModerationResult =
  | { allowed: true }
  /** `category` is for logs only; users see {@link MODERATION_MESSAGE}. */
  | { allowed: false; category: 'sexual' | 'violence' | 'hate' | 'drugs' };

/** Everyday interior phrases that contain a blocked word but mean something harmless. */
const BENIGN_PHRASES = [
  /\bnude (?:tones?|palette|colou?rs?|shades?|hues?|pinks?|beiges?|linen|paint)\b/g,
  /\bblood (?:red|orange)\b/g,
  /\bbath bombs?\b/g,
];

const BLOCKED: readonly {
  category: Exclude<ModerationResult, { allowed: true }>['category'];
  terms: string[];
}[] = [
  {
    category: 'sexual',
    terms: [
      'nude',
      'nudes',
      'naked',
      'nudity',
      'porn',
      'porno',
      'pornographic',
      'pornography',
      'sex',
      'sexual',
      'erotic',
      'erotica',
      'nsfw',
      'genital',
      'genitals',
      'penis',
      'vagina',
      'boobs',
      'topless',
      'fetish',
      'orgy',
      'hentai',
      'stripper',
      'xxx',
    ],
  },
  {
    category: 'violence',
    terms: [
      'gore',
      'gory',
      'corpse',
      'corpses',
      'dead body',
      'dead bodies',
      'decapitated',
      'dismembered',
      'mutilated',
      'murder',
      'massacre',
      'torture',
      'beheading',
      'suicide',
      'self harm',
      'self-harm',
    ],
  },
  { category: 'hate', terms: ['nazi', 'nazis', 'swastika', 'hitler', 'kkk', 'white power'] },
  { category: 'drugs', terms: ['meth lab', 'drug lab', 'cocaine', 'heroin'] },
];

const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
};

const PATTERNS = BLOCKED.map(({ category, terms }) => ({
  category,
  pattern: new RegExp(
    `\\b(?:${terms.map((term) => term.replace(/[-\s]/g, '[\\s-]?')).join('|')})\\b`,
  ),
}));

/**
 * A light text filter for prompts: lower-cases, folds accents and look-alike
 * digits, drops dots or dashes between single letters ("n.u.d.e"), removes everyday phrases
 * such as "nude tones", then matches whole words of a small blocklist. Pure and synchronous;
 * a provider's own safety checker still runs after it.
 */
export function moderateText(text: string): ModerationResult {
  let normalised = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[013457@$]/g, (character) => LEET[character] ?? character)
    .replace(/\b(\p{L})[.\-_*](?=\p{L}\b)/gu, '$1');
  for (const phrase of BENIGN_PHRASES) normalised = normalised.replace(phrase, ' ');
  for (const { category, pattern } of PATTERNS) {
    if (pattern.test(normalised)) return { allowed: false, category };
  }
  return { allowed: true };
}
