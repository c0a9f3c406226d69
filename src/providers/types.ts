import type OpenAI from 'openai';
import type { Cancellation } from '../lib/cancellation.ts';

/** The providers genloop routes between; the names of `ai_provider_configs.provider`. */
export const PROVIDER_NAMES = ['openai', 'custom', 'openrouter', 'replicate'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Providers that answer chat completions (replicate serves images and is routed separately). */
export const TEXT_PROVIDERS: readonly ProviderName[] = ['openai', 'custom', 'openrouter'];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDER_NAMES as readonly string[]).includes(value);
}

/** A chat request in OpenAI's wire format; extra fields pass through to the provider. */
export type ChatRequest = Omit<
  OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
  'model' | 'stream'
> & {
  model: string;
};

export type ChatCompletion = OpenAI.Chat.ChatCompletion;
export type ChatCompletionChunk = OpenAI.Chat.ChatCompletionChunk;

export interface Usage {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  costUsd: number | undefined;
}

/** A finished completion, with what telemetry needs pulled out of the provider's answer. */
export interface ChatResult {
  completion: ChatCompletion;
  content: string;
  usage: Usage;
  providerRequestId: string | undefined;
  /**
   * The answer's JSON text exactly as the provider sent it, when the provider kept it: a gateway
   * relays these bytes instead of serialising `completion` again (fields genloop does not know
   * reach the client untouched).
   */
  body?: string;
}

/** One call's options: its abort signal (timeout and caller) and headers for the simulator. */
export interface CallOptions {
  /** Aborted by the attempt's timeout or by the caller. */
  signal: AbortSignal;
  /**
   * The same abort as a {@link Cancellation}, when the router made the call: a transport that
   * can listen to it leaves `signal` unread, and no `AbortSignal` is made for the call.
   */
  cancellation?: Cancellation;
  /** Extra request headers (the `x-genloop-simulate` fault header, only for simulated providers). */
  headers?: Record<string, string>;
}

/** A streamed completion: the chunks in order, then usage if the provider sent it. */
export interface ChatStream extends AsyncIterable<ChatCompletionChunk> {
  /** Usage from the final chunk (after iteration ends). */
  usage(): Usage;
  providerRequestId: string | undefined;
}

/** An embeddings request in OpenAI's wire format, with the input always a list. */
export interface EmbeddingRequest {
  model: string;
  input: string[];
  /** Fewer dimensions than the model's own (text-embedding-3 models shorten their vectors). */
  dimensions?: number | undefined;
  user?: string | undefined;
}

/** The vectors of one embeddings call, in input order, as plain floats. */
export interface EmbeddingResult {
  embeddings: number[][];
  /** The model the provider says answered. */
  model: string;
  usage: Usage;
  providerRequestId: string | undefined;
}

/**
 * A text provider: non-streaming and streaming chat completions, and embeddings. Failures are
 * thrown as {@link ProviderError}; retries and fallback belong to the router, never to the
 * provider.
 */
export interface TextProvider {
  readonly name: ProviderName;
  /** How it is served: the real API, or the built-in simulator. */
  readonly servedBy: 'api' | 'simulator';
  generate(request: ChatRequest, options: CallOptions): Promise<ChatResult>;
  stream(request: ChatRequest, options: CallOptions): Promise<ChatStream>;
  embed(request: EmbeddingRequest, options: CallOptions): Promise<EmbeddingResult>;
}
