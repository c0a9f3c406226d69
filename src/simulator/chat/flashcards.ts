import { between, capitalize, clip, keywords, sentences, words } from './text.ts';

const SOURCE_TAGS = ['source', 'notes', 'text', 'document', 'content'];
const MIN_CARDS = 3;
const MAX_CARDS = 10;

/**
 * Flashcards for a flashcards prompt, valid against `flashcardsOutputSchema`: one cloze card per
 * sentence of the source text (its longest word blanked out), topped up with "What is …?" cards
 * to at least three, at most ten. `unsafe` puts an inline-handler image into every front.
 */
export function simulatedFlashcards(
  userText: string,
  options: { unsafe?: boolean } = {},
): {
  cards: { front: string; back: string }[];
} {
  const tagged = SOURCE_TAGS.map((tag) => between(userText, tag)).find(
    (text) => text !== undefined,
  );
  const source = clip(tagged ?? userText, 20_000);
  const cards: { front: string; back: string }[] = [];
  for (const sentence of sentences(source)) {
    if (cards.length >= MAX_CARDS) break;
    const sentenceWords = words(sentence);
    const answer = longestWord(sentenceWords);
    if (!answer || sentenceWords.length < 3) continue;
    const blanked = sentence.replace(answer, '_____');
    cards.push({ front: `Fill in the blank: ${clip(blanked, 1_500)}`, back: answer });
  }
  for (const term of keywords(source, MAX_CARDS)) {
    if (cards.length >= MIN_CARDS) break;
    const context =
      sentences(source).find((sentence) => sentence.toLowerCase().includes(term)) ?? source;
    cards.push({ front: `What is ${term}?`, back: clip(context, 1_500) || capitalize(term) });
  }
  if (cards.length === 0) {
    cards.push({
      front: 'What is this note about?',
      back: clip(source.trim(), 1_500) || 'Nothing yet.',
    });
  }
  if (options.unsafe) {
    for (const card of cards) card.front = `<img src=x onerror="alert(1)">${card.front}`;
  }
  return { cards };
}

function longestWord(sentenceWords: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const word of sentenceWords) {
    if (word.length >= 4 && (best === undefined || word.length > best.length)) best = word;
  }
  return best;
}
