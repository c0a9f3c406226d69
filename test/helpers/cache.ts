import type OpenAI from 'openai';
import { eventually, type Stack } from './stack.ts';

export type ChatBody = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

/** A short cacheable chat request: `system`, then the user's `text`, low temperature. */
export function cacheableQuestion(
  system: string,
  text: string,
  extra: Partial<ChatBody> = {},
): ChatBody {
  return {
    model: 'default',
    max_tokens: 40,
    temperature: 0.2,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: text },
    ],
    ...extra,
  };
}

/**
 * Waits until `table` (`ai_response_cache` or `ai_semantic_cache`) holds `count` entries of
 * `scope`: a cache stores an answer after sending it.
 */
export async function waitForCacheEntries(
  stack: Stack,
  table: 'ai_response_cache' | 'ai_semantic_cache',
  scope: string,
  count = 1,
): Promise<void> {
  await eventually(async () => {
    const { rows } = await stack.database.db.query<{ n: number }>(
      `select count(*)::int as n from ${table} where scope = $1`,
      [scope],
    );
    return rows[0]!.n >= count ? true : undefined;
  });
}
