import OpenAI from 'openai';
import { abortedByTimeout, ProviderError, toProviderError } from '../errors.ts';
import type {
  CallOptions,
  ChatCompletionChunk,
  ChatRequest,
  ChatResult,
  ChatStream,
  ProviderName,
  TextProvider,
  Usage,
} from '../types.ts';
import { createEmbedder } from './embeddings.ts';
import { createKeepAliveFetch } from './keep-alive-fetch.ts';

/** Transport of an OpenAI-compatible provider: where it is and how to authenticate. */
export interface OpenAICompatibleTransport {
  name: ProviderName;
  baseURL: string;
  apiKey: string;
  servedBy: 'api' | 'simulator';
  defaultHeaders?: Record<string, string>;
  /** The SDK's fetch; default: {@link createKeepAliveFetch}, one connection pool per provider. */
  fetch?: typeof fetch;
}

/**
 * The shared base of every OpenAI-compatible provider (openai, openrouter, custom), built on the
 * official openai SDK with its retries off: backoff, timeouts and fallback belong to the router.
 */
export function createOpenAICompatibleProvider(transport: OpenAICompatibleTransport): TextProvider {
  const fetch = transport.fetch ?? createKeepAliveFetch().fetch;
  const client = new OpenAI({
    apiKey: transport.apiKey,
    baseURL: transport.baseURL,
    maxRetries: 0,
    fetch,
    // The router's AbortSignal bounds each attempt; this only guards against a missing one.
    timeout: 600_000,
    ...(transport.defaultHeaders ? { defaultHeaders: transport.defaultHeaders } : {}),
  });
  const { name } = transport;

  return {
    name,
    servedBy: transport.servedBy,
    embed: createEmbedder({ ...transport, fetch }),

    async generate(request: ChatRequest, options: CallOptions): Promise<ChatResult> {
      try {
        const { data, response } = await client.chat.completions
          .create(
            { ...request, stream: false },
            { signal: options.signal, headers: options.headers ?? {} },
          )
          .withResponse();
        const content = data.choices[0]?.message?.content ?? '';
        return {
          completion: data,
          content,
          usage: usageOf(data.usage),
          providerRequestId: response.headers.get('x-request-id') ?? data.id,
        };
      } catch (error) {
        throw toProviderError(name, error, abortedByTimeout(options.signal));
      }
    },

    async stream(request: ChatRequest, options: CallOptions): Promise<ChatStream> {
      let response: Response;
      let stream: AsyncIterable<ChatCompletionChunk>;
      try {
        const result = await client.chat.completions
          .create(
            { ...request, stream: true, stream_options: { include_usage: true } },
            { signal: options.signal, headers: options.headers ?? {} },
          )
          .withResponse();
        stream = result.data;
        response = result.response;
      } catch (error) {
        throw toProviderError(name, error, abortedByTimeout(options.signal));
      }
      let usage: Usage = { inputTokens: undefined, outputTokens: undefined, costUsd: undefined };
      return {
        providerRequestId: response.headers.get('x-request-id') ?? undefined,
        usage: () => usage,
        async *[Symbol.asyncIterator]() {
          try {
            for await (const chunk of stream) {
              if (chunk.usage) usage = usageOf(chunk.usage);
              yield chunk;
            }
          } catch (error) {
            const failure = toProviderError(name, error, abortedByTimeout(options.signal));
            // Anything but a timeout or cancel during iteration means the stream broke.
            if (failure.errorClass === 'timeout' || failure.errorClass === 'canceled')
              throw failure;
            throw new ProviderError({
              provider: name,
              message: `stream broke: ${failure.message}`,
              errorClass: 'stream_cut',
              retryable: true,
              status: failure.status,
              cause: error,
            });
          }
        },
      };
    },
  };
}

function usageOf(usage: OpenAI.Completions.CompletionUsage | null | undefined): Usage {
  const cost = (usage as { cost?: unknown } | null | undefined)?.cost;
  return {
    inputTokens: usage?.prompt_tokens,
    outputTokens: usage?.completion_tokens,
    costUsd: typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : undefined,
  };
}
