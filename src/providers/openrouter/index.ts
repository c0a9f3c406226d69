import { createOpenAICompatibleProvider } from '../openai-compatible/index.ts';
import type { TextProvider } from '../types.ts';

export const OPENROUTER_BASE_URL = 'https://openrouter.ai/api/v1';

/**
 * OpenRouter: OpenAI-compatible, plus its attribution headers (HTTP-Referer, X-Title) so usage
 * shows up under the app's name.
 */
export function createOpenRouterProvider(options: {
  apiKey: string;
  baseURL?: string | undefined;
  servedBy: 'api' | 'simulator';
  appUrl?: string | undefined;
  appTitle?: string;
}): TextProvider {
  return createOpenAICompatibleProvider({
    name: 'openrouter',
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? OPENROUTER_BASE_URL,
    servedBy: options.servedBy,
    defaultHeaders: {
      ...(options.appUrl ? { 'HTTP-Referer': options.appUrl } : {}),
      'X-Title': options.appTitle ?? 'genloop',
    },
  });
}
