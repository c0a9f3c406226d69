import { createOpenAICompatibleProvider } from '../openai-compatible/index.ts';
import type { TextProvider } from '../types.ts';

/**
 * Any OpenAI-compatible server the team runs itself (vLLM, Ollama, llama.cpp server), at
 * CUSTOM_PROVIDER_BASE_URL. Such servers usually ignore the key; one is sent when configured.
 */
export function createCustomProvider(options: {
  baseURL: string;
  apiKey?: string | undefined;
  servedBy: 'api' | 'simulator';
}): TextProvider {
  return createOpenAICompatibleProvider({
    name: 'custom',
    apiKey: options.apiKey ?? 'not-needed',
    baseURL: options.baseURL,
    servedBy: options.servedBy,
  });
}
