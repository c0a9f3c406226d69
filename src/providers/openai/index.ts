import { createOpenAICompatibleProvider } from '../openai-compatible/index.ts';
import type { TextProvider } from '../types.ts';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** OpenAI's own API (or any base URL OPENAI_BASE_URL points at). */
export function createOpenAIProvider(options: {
  apiKey: string;
  baseURL?: string | undefined;
  servedBy: 'api' | 'simulator';
}): TextProvider {
  return createOpenAICompatibleProvider({
    name: 'openai',
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? OPENAI_BASE_URL,
    servedBy: options.servedBy,
  });
}
