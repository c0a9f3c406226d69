/**
 * The simulator's embedding model: deterministic unit vectors that put paraphrases close
 * together and unrelated texts far apart, so that the semantic cache can be tested and measured
 * offline. It is a bag of words, not a language model:
 *
 * 1. normalise: lower case, accents and punctuation gone, a few multi-word terms joined
 *    ("flash cards" → flashcard, "living room" → livingroom, "web site" → website);
 * 2. drop stop words and contractions' endings, but keep negations, joined with the word they
 *    negate ("don't use" becomes one word, not_use, far from "use");
 * 3. light stemming (plurals, -ing, -ed, -ly) and a small synonym table for the vocabulary of the
 *    product flows (flashcards, interior design rooms and styles, websites) and of requests
 *    ("create", "build", "generate" → make);
 * 4. hash every word and every pair of neighbouring words into `dimensions` buckets with a sign
 *    (feature hashing), words weighing twice as much as pairs, so that reordering a sentence
 *    costs less than changing its words;
 * 5. L2-normalise.
 *
 * Two texts with the same normalised words in the same order get the same vector (distance 0);
 * sharing most words keeps the cosine distance small; sharing none makes it about 1.
 */

const STOP_WORDS = new Set(
  (
    'a an the and or but if then so of to in on at by for with from into onto about as is are was ' +
    'were be been being am do does did done doing have has had having i me my mine myself we us ' +
    'our ours you your yours he him his she her hers it its they them their theirs this that these ' +
    'those there here what which who whom whose when where why how can could would should will ' +
    'shall may might must please kindly just also very really quite some any each every all more ' +
    'most such own same than too up down out over again further once let lets get got give gave ' +
    'want wants wanted need needs needed like hi hello hey thanks thank one include includes ' +
    'including'
  ).split(' '),
);

/** Multi-word terms that mean one thing, joined before the words are split. */
const PHRASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bflash[ -]?cards?\b/g, 'flashcard'],
  [/\bstudy cards?\b/g, 'flashcard'],
  [/\bweb ?sites?\b/g, 'website'],
  [/\bweb ?pages?\b/g, 'website'],
  [/\blanding pages?\b/g, 'website'],
  [/\bhome ?pages?\b/g, 'website'],
  [/\bliving ?rooms?\b/g, 'livingroom'],
  [/\blounges?\b/g, 'livingroom'],
  [/\bsitting rooms?\b/g, 'livingroom'],
  [/\bdining ?rooms?\b/g, 'diningroom'],
  [/\bbed ?rooms?\b/g, 'bedroom'],
  [/\bbath ?rooms?\b/g, 'bathroom'],
  [/\bhome offices?\b/g, 'office'],
  [/\bmid[ -]?century( modern)?\b/g, 'midcentury'],
  [/\bcall to action\b/g, 'cta'],
  [/\bsign[ -]?up\b/g, 'signup'],
];

/** Canonical words; keys are words as written and as stemmed. */
const SYNONYMS: Readonly<Record<string, string>> = {
  // asking for something
  create: 'make',
  creat: 'make',
  build: 'make',
  generate: 'make',
  generat: 'make',
  produce: 'make',
  produc: 'make',
  write: 'make',
  writ: 'make',
  draft: 'make',
  turn: 'make',
  convert: 'make',
  explain: 'explain',
  describe: 'explain',
  describ: 'explain',
  summarize: 'summary',
  summarise: 'summary',
  summar: 'summary',
  overview: 'summary',
  recap: 'summary',
  // flashcards
  card: 'flashcard',
  deck: 'flashcard',
  note: 'note',
  lecture: 'note',
  study: 'study',
  learn: 'study',
  revise: 'study',
  revis: 'study',
  memorize: 'study',
  memorise: 'study',
  exam: 'test',
  quiz: 'test',
  // interior design
  redesign: 'redesign',
  restyle: 'redesign',
  makeover: 'redesign',
  remodel: 'redesign',
  renovate: 'redesign',
  renovat: 'redesign',
  refresh: 'redesign',
  decorate: 'redesign',
  decorat: 'redesign',
  style: 'style',
  look: 'style',
  aesthetic: 'style',
  vibe: 'style',
  theme: 'style',
  modern: 'modern',
  contemporary: 'modern',
  minimal: 'minimal',
  minimalist: 'minimal',
  minimalistic: 'minimal',
  scandinavian: 'scandinavian',
  scandi: 'scandinavian',
  nordic: 'scandinavian',
  cozy: 'cozy',
  cosy: 'cozy',
  snug: 'cozy',
  rustic: 'rustic',
  farmhouse: 'rustic',
  industrial: 'industrial',
  loft: 'industrial',
  boho: 'bohemian',
  bohemian: 'bohemian',
  photo: 'photo',
  picture: 'photo',
  pic: 'photo',
  image: 'photo',
  lounge: 'livingroom',
  // websites
  site: 'website',
  webpage: 'website',
  homepage: 'website',
  page: 'website',
  business: 'business',
  company: 'business',
  firm: 'business',
  shop: 'business',
  store: 'business',
  startup: 'business',
  hero: 'hero',
  banner: 'hero',
  pricing: 'pricing',
  price: 'pricing',
  plan: 'pricing',
  testimonial: 'testimonial',
  review: 'testimonial',
  footer: 'footer',
  contact: 'contact',
  // general
  quick: 'fast',
  rapid: 'fast',
  speedy: 'fast',
  cheap: 'cheap',
  affordable: 'cheap',
  inexpensive: 'cheap',
  big: 'large',
  huge: 'large',
  tiny: 'small',
  little: 'small',
  help: 'help',
  assist: 'help',
  pick: 'choose',
  select: 'choose',
  chose: 'choose',
  suggest: 'recommend',
  recommend: 'recommend',
  idea: 'recommend',
  ideas: 'recommend',
};

/** Pairs of neighbouring words weigh half as much as single words. */
const PAIR_WEIGHT = 0.5;

/** The words of `text` after normalising, stop words, stemming and synonyms. */
export function normaliseWords(text: string): string[] {
  let lowered = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['\u2019]/g, "'")
    .replace(/n't\b/g, ' not')
    .replace(/'(s|re|ll|ve|d|m)\b/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ');
  for (const [pattern, replacement] of PHRASES) lowered = lowered.replace(pattern, replacement);
  // Single letters left by punctuation ("e.g.", "a/b") say nothing; single digits do.
  const raw = lowered.split(' ').filter((word) => word.length > 1 || /\d/.test(word));
  const kept = raw.filter((word) => !STOP_WORDS.has(word));
  return negated((kept.length > 0 ? kept : raw).map(canonical));
}

/** Negations that turn the word after them into its opposite ("not blue" is not "blue"). */
const NEGATIONS = new Set(['not', 'no', 'never', 'without']);

/** Joins each negation with the word it negates, so the two make one word of their own. */
function negated(words: string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    const next = words[index + 1];
    if (NEGATIONS.has(word) && next !== undefined) {
      joined.push(`not_${next}`);
      index++;
    } else {
      joined.push(word);
    }
  }
  return joined;
}

function canonical(word: string): string {
  const direct = SYNONYMS[word];
  if (direct) return direct;
  const stemmed = stem(word);
  if (stemmed === word) return word;
  // "creating" stems to "creat": try the word's likely base form too.
  return SYNONYMS[stemmed] ?? SYNONYMS[`${stemmed}e`] ?? stemmed;
}

/** Plurals, -ing, -ed and -ly, and a doubled final consonant left behind ("running" → run). */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let stemmed = word;
  if (stemmed.endsWith('ies') && stemmed.length > 4) stemmed = `${stemmed.slice(0, -3)}y`;
  else if (stemmed.endsWith('sses')) stemmed = stemmed.slice(0, -2);
  else if (stemmed.endsWith('es') && /(ch|sh|x|z)es$/.test(stemmed)) stemmed = stemmed.slice(0, -2);
  else if (stemmed.endsWith('s') && !/(ss|us|is)$/.test(stemmed)) stemmed = stemmed.slice(0, -1);
  if (stemmed.endsWith('ing') && stemmed.length > 5) stemmed = undouble(stemmed.slice(0, -3));
  else if (stemmed.endsWith('ed') && stemmed.length > 4) stemmed = undouble(stemmed.slice(0, -2));
  else if (stemmed.endsWith('ly') && stemmed.length > 4) stemmed = stemmed.slice(0, -2);
  return stemmed;
}

function undouble(word: string): string {
  return /([b-df-hj-np-tv-z])\1$/.test(word) && !/(ll|ss|zz)$/.test(word)
    ? word.slice(0, -1)
    : word;
}

/**
 * The unit vector of `text` in `dimensions` dimensions. A text with no words at all (only
 * punctuation or spaces) still gets a vector: the one of its characters taken as one word.
 */
export function embedText(text: string, dimensions: number): number[] {
  const vector = new Float64Array(dimensions);
  const words = normaliseWords(text);
  const features: Array<readonly [string, number]> =
    words.length > 0 ? [] : [[`raw:${text}`, 1] as const];
  for (let index = 0; index < words.length; index++) {
    features.push([words[index]!, 1]);
    if (index > 0) features.push([`${words[index - 1]} ${words[index]}`, PAIR_WEIGHT]);
  }
  for (const [feature, weight] of features) {
    const hash = fnv1a(feature);
    const bucket = hash % dimensions;
    // The sign comes from other bits than the bucket, so colliding features may cancel out
    // instead of always adding up (what makes hashed features behave like random projections).
    const sign = Math.imul(hash, 0x9e3779b1) >>> 31 === 0 ? 1 : -1;
    vector[bucket]! += sign * weight;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  return Array.from(vector, (value) => (norm === 0 ? 0 : value / norm));
}

/** Cosine distance of two vectors of the same length (1 - cosine similarity). */
export function cosineDistance(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index++) {
    dot += a[index]! * b[index]!;
    normA += a[index]! * a[index]!;
    normB += b[index]! * b[index]!;
  }
  return normA === 0 || normB === 0 ? 1 : 1 - dot / Math.sqrt(normA * normB);
}

/** 32-bit FNV-1a over the UTF-16 code units, unsigned. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
