import { callError, ProviderError } from '../errors.ts';
import type {
  CallOptions,
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  ChatResult,
  ChatStream,
  ProviderName,
  TextProvider,
  Usage,
} from '../types.ts';
import { createEmbedder } from './embeddings.ts';
import { headerValue, WireClient } from './wire.ts';

/** Transport of an OpenAI-compatible provider: where it is and how to authenticate. */
export interface OpenAICompatibleTransport {
  name: ProviderName;
  baseURL: string;
  apiKey: string;
  servedBy: 'api' | 'simulator';
  defaultHeaders?: Record<string, string>;
  /** Most open connections to the API (default: unbounded). */
  maxSockets?: number;
}

/**
 * The shared base of every OpenAI-compatible provider (openai, openrouter, custom), speaking the
 * chat completions wire format itself over a keep-alive pool ({@link WireClient}): the request
 * is the caller's body as JSON, the answer is parsed once and its bytes kept, so that a gateway
 * can hand them to its client unchanged. Retries, timeouts and fallback belong to the router.
 */
export function createOpenAICompatibleProvider(transport: OpenAICompatibleTransport): TextProvider {
  const { name } = transport;
  const wire = new WireClient({
    name,
    baseURL: transport.baseURL,
    apiKey: transport.apiKey,
    defaultHeaders: transport.defaultHeaders,
    maxSockets: transport.maxSockets,
  });

  return {
    name,
    servedBy: transport.servedBy,
    embed: createEmbedder(wire),

    async generate(request: ChatRequest, options: CallOptions): Promise<ChatResult> {
      const cancel = options.cancellation ?? options.signal;
      try {
        const { headers, text, data } = await wire.call(
          '/chat/completions',
          JSON.stringify(request),
          cancel,
          options.headers,
        );
        const completion = asCompletion(name, data);
        return {
          completion,
          content: completion.choices[0]?.message?.content ?? '',
          usage: usageOf(completion.usage),
          providerRequestId: headerValue(headers, 'x-request-id') ?? completion.id,
          body: text,
        };
      } catch (error) {
        throw callError(name, error, cancel);
      }
    },

    async stream(request: ChatRequest, options: CallOptions): Promise<ChatStream> {
      let answer: Awaited<ReturnType<WireClient['post']>>;
      try {
        answer = await wire.post(
          '/chat/completions',
          JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
          options.signal,
          options.headers,
        );
      } catch (error) {
        throw callError(name, error, options.signal);
      }
      let usage: Usage = { inputTokens: undefined, outputTokens: undefined, costUsd: undefined };
      return {
        providerRequestId: headerValue(answer.headers, 'x-request-id') ?? undefined,
        usage: () => usage,
        async *[Symbol.asyncIterator]() {
          try {
            for await (const event of wire.events(answer, options.signal)) {
              const chunk = event as ChatCompletionChunk;
              if (chunk.usage) usage = usageOf(chunk.usage);
              yield chunk;
            }
          } catch (error) {
            const failure = callError(name, error, options.signal);
            // Anything but a timeout or cancel during iteration means the stream broke.
            if (
              failure.errorClass === 'timeout' ||
              failure.errorClass === 'canceled' ||
              failure.errorClass === 'stream_cut'
            ) {
              throw failure;
            }
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

/** A 2xx answer that is not a chat completion is the provider's fault, not the caller's. */
function asCompletion(name: ProviderName, data: unknown): ChatCompletion {
  if (
    data === null ||
    typeof data !== 'object' ||
    !Array.isArray((data as { choices?: unknown }).choices)
  ) {
    throw new ProviderError({
      provider: name,
      message: `${name} answered 2xx without a choices array`,
      errorClass: 'unknown',
      retryable: false,
      body: data,
    });
  }
  return data as ChatCompletion;
}

function usageOf(usage: ChatCompletion['usage'] | null | undefined): Usage {
  const cost = (usage as { cost?: unknown } | null | undefined)?.cost;
  return {
    inputTokens: usage?.prompt_tokens,
    outputTokens: usage?.completion_tokens,
    costUsd: typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : undefined,
  };
}
