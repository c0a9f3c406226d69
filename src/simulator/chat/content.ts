import { FLASHCARDS_SCHEMA_NAME } from '../../recipes/flashcards/schema.ts';
import { SITE_PATCH_SCHEMA_NAME } from '../../recipes/site/patch.ts';
import { SITE_SCHEMA_NAME } from '../../recipes/site/schema.ts';
import { type Fault, findFault } from '../faults.ts';
import { simulatedFlashcards } from './flashcards.ts';
import { instanceOf } from './json-schema.ts';
import { simulatedSite, simulatedSitePatch } from './site.ts';
import { keywords, lastUserText, plainAnswer, words } from './text.ts';

const UNSAFE_TEXT =
  'Click here: <a href="javascript:alert(1)">offer</a><script>alert(document.cookie)</script><img src=x onerror="alert(2)">';

/**
 * The assistant message for a chat request, derived only from its messages and response format
 * (so the same request always gets the same answer):
 * - `json_schema` named after a genloop recipe → an output valid for that recipe's zod schema;
 * - any other `json_schema` → an instance of the schema;
 * - `json_object` → a small JSON object about the user's words;
 * - otherwise plain text about the last user message.
 * Content faults change it: `invalid-json` (unparseable), `wrong-schema` (valid JSON of the wrong
 * shape), `unsafe-html` (script, inline handlers and javascript: URLs where HTML or text goes).
 */
export function completionContent(
  request: { messages: readonly unknown[]; response_format?: unknown },
  faults: readonly Fault[],
): string {
  const userText = lastUserText(request.messages);
  const unsafe = findFault(faults, 'unsafe-html') !== undefined;
  const format = responseFormat(request.response_format);
  let value: unknown;
  if (format.type === 'json_schema') {
    switch (format.name) {
      case SITE_SCHEMA_NAME:
        value = simulatedSite(userText, { unsafe });
        break;
      case SITE_PATCH_SCHEMA_NAME:
        value = simulatedSitePatch(userText, { unsafe });
        break;
      case FLASHCARDS_SCHEMA_NAME:
        value = simulatedFlashcards(userText, { unsafe });
        break;
      default:
        value = instanceOf(format.schema, keywords(userText, 12), `${format.name}:${userText}`);
    }
  } else if (format.type === 'json_object') {
    const answer = plainAnswer(userText);
    value = {
      answer: unsafe ? `${answer} ${UNSAFE_TEXT}` : answer,
      keywords: keywords(userText, 6),
      word_count: words(userText).length,
    };
  }

  if (findFault(faults, 'wrong-schema')) {
    return JSON.stringify({
      result: plainAnswer(userText),
      note: 'this object ignores the requested schema',
    });
  }
  if (findFault(faults, 'invalid-json')) {
    // A strict prefix of a JSON object's text is never valid JSON: its closing brace is missing.
    const text = JSON.stringify(value ?? { answer: plainAnswer(userText) });
    return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  }
  if (value !== undefined) return JSON.stringify(value);
  const answer = plainAnswer(userText);
  return unsafe ? `${answer}\n\n${UNSAFE_TEXT}` : answer;
}

type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: unknown };

function responseFormat(value: unknown): ResponseFormat {
  if (typeof value !== 'object' || value === null) return { type: 'text' };
  const format = value as { type?: unknown; json_schema?: { name?: unknown; schema?: unknown } };
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    return {
      type: 'json_schema',
      name: typeof format.json_schema?.name === 'string' ? format.json_schema.name : '',
      schema: format.json_schema?.schema,
    };
  }
  return { type: 'text' };
}
