import { pick, seededRandom } from '../seeded.ts';

/** Words that say nothing about the subject; left out of titles and keywords. */
const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being
  below between both but by can could did do does doing down during each few for from further had has
  have having he her here hers herself him himself his how i if in into is it its itself just like make
  me more most my myself need no nor not now of off on once only or other our ours ourselves out over own
  please same she should so some such than that the their theirs them themselves then there these they
  this those through to too under until up very want was we were what when where which while who whom
  why will with would you your yours yourself yourselves create website site page build brief
  business name audience tone sections order write copy language answer json object tell give
  show explain describe hello hey thanks thank mine there`
    .split(/\s+/)
    .filter(Boolean),
);

/** The text of a chat message's content: a string, or the text parts of a content array. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) =>
      typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text'
        ? String((part as { text?: unknown }).text ?? '')
        : '',
    )
    .filter(Boolean)
    .join('\n');
}

/** The text of the last user message (or of the last message when no user spoke). */
export function lastUserText(messages: readonly unknown[]): string {
  const typed = messages.filter(
    (message): message is { role?: unknown; content?: unknown } =>
      typeof message === 'object' && message !== null,
  );
  const user = [...typed].reverse().find((message) => message.role === 'user') ?? typed.at(-1);
  return messageText(user?.content);
}

/** The text between `<tag>` and `</tag>`, when the prompt wraps its data that way. */
export function between(text: string, tag: string): string | undefined {
  const start = text.indexOf(`<${tag}>`);
  if (start === -1) return undefined;
  const end = text.indexOf(`</${tag}>`, start);
  if (end === -1) return undefined;
  return text.slice(start + tag.length + 2, end).trim();
}

const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;
/** The same pattern for ASCII text, where letters and digits are [A-Za-z0-9] (and ’ cannot occur). */
const ASCII_WORD = /[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: any character outside ASCII.
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Words in order (letters and digits, inner apostrophes and hyphens kept). ASCII text, the common
 * case, is matched without Unicode property classes, which are several times slower.
 */
export function words(text: string): string[] {
  return text.match(NON_ASCII.test(text) ? WORD : ASCII_WORD) ?? [];
}

/** Distinct meaningful words, lower-cased, in order of first appearance. */
export function keywords(text: string, limit: number): string[] {
  const seen = new Set<string>();
  for (const word of words(text)) {
    const lower = word.toLowerCase();
    if (lower.length < 3 || STOP_WORDS.has(lower) || /^\d+$/.test(lower)) continue;
    seen.add(lower);
    if (seen.size >= limit) break;
  }
  return [...seen];
}

/** Sentences: split on . ! ? and line breaks, trimmed, empty ones dropped. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/u)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

export function capitalize(word: string): string {
  return word.length === 0 ? word : word[0]!.toUpperCase() + word.slice(1);
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Shortens to at most `max` characters at a word boundary. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

const OPENERS = [
  'Here is a short answer about {topic}.',
  'Good question about {topic}.',
  'Let us look at {topic}.',
  'In short, {topic} comes down to a few points.',
];
const MIDDLES = [
  'The key idea is {a}, which connects directly to {b}.',
  'Start with {a}; once that is clear, {b} follows naturally.',
  'Most people overlook {a}, yet it shapes how {b} works in practice.',
  'Think of {a} as the foundation and {b} as what you build on it.',
  'A practical first step is to compare {a} with {b}.',
];
const CLOSERS = [
  'That should give you a solid starting point.',
  'Ask a follow-up question if you want more detail.',
  'In summary: focus on {a} first.',
];

/**
 * A plain-text answer derived from the user's words: the same text always yields the same answer.
 */
export function plainAnswer(userText: string): string {
  const terms = keywords(userText.slice(0, 4_000), 8);
  if (terms.length === 0) return 'Hello! This is the genloop simulator. Ask me anything.';
  const random = seededRandom(`text:${userText}`);
  const topic = terms.slice(0, 3).join(', ');
  const term = (index: number) => terms[index % terms.length]!;
  const fill = (template: string, a: string, b: string) =>
    template.replaceAll('{topic}', topic).replaceAll('{a}', a).replaceAll('{b}', b);
  const parts = [fill(pick(random, OPENERS), term(0), term(1))];
  const middles = [...MIDDLES].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3));
  middles.forEach((template, index) => {
    parts.push(fill(template, term(index), term(index + 1)));
  });
  parts.push(fill(pick(random, CLOSERS), term(0), term(1)));
  return parts.join(' ');
}
