import OpenAI from 'openai';
import type { Stack } from './stack.ts';

/**
 * The official openai client pointed at a test stack's `/v1` gateway, as a user would point it
 * at genloop: a user token unless `apiKey` is given, and no SDK retries, so every answer the
 * test sees is genloop's own.
 */
export async function gatewayClient(
  stack: Stack,
  apiKey?: string,
  headers: Record<string, string> = {},
): Promise<OpenAI> {
  const server = await stack.listen();
  return new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey: apiKey ?? (await stack.token()),
    maxRetries: 0,
    defaultHeaders: headers,
  });
}
