import { z } from 'zod';
import { callError, ProviderError } from '../errors.ts';
import type { CallOptions, EmbeddingRequest, EmbeddingResult, Usage } from '../types.ts';
import { headerValue, type WireClient } from './wire.ts';

/** A vector as JSON floats, or as base64 of little-endian float32s (what `base64` asks for). */
const vectorSchema = z.union([z.array(z.number()), z.string()]);

/** OpenAI's embeddings answer; OpenRouter adds `usage.cost`, vLLM and Ollama answer the same. */
const embeddingsAnswerSchema = z.object({
  data: z.array(z.object({ index: z.int().min(0), embedding: vectorSchema }).loose()).min(1),
  model: z.string().optional(),
  usage: z
    .object({
      prompt_tokens: z.int().min(0).optional(),
      total_tokens: z.int().min(0).optional(),
      cost: z.number().min(0).optional(),
    })
    .loose()
    .nullish(),
});

/**
 * `POST {baseURL}/embeddings` over the provider's wire client: a small JSON call that needs
 * nothing of an SDK. Vectors are asked for as floats, the one encoding every OpenAI-compatible
 * server supports, and returned in input order. Failures are ProviderErrors classified as the chat
 * calls' are: by status and error body, timeout or cancel by the signal, anything else on the way
 * as a retryable network failure.
 */
export function createEmbedder(
  wire: WireClient,
): (request: EmbeddingRequest, options: CallOptions) => Promise<EmbeddingResult> {
  const { name } = wire;
  return async function embed(request, options) {
    const body = JSON.stringify({
      model: request.model,
      input: request.input,
      ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
      ...(request.user !== undefined ? { user: request.user } : {}),
    });
    let json: unknown;
    let requestId: string | null;
    let text: string;
    const cancel = options.cancellation ?? options.signal;
    try {
      const answer = await wire.call('/embeddings', body, cancel, options.headers);
      requestId = headerValue(answer.headers, 'x-request-id');
      ({ text, data: json } = answer);
    } catch (error) {
      throw callError(name, error, cancel);
    }
    const parsed = embeddingsAnswerSchema.safeParse(json);
    if (!parsed.success || parsed.data.data.length !== request.input.length) {
      throw new ProviderError({
        provider: name,
        message: parsed.success
          ? `${name} answered ${parsed.data.data.length} embeddings for ${request.input.length} inputs`
          : `${name} answered an embeddings body that is not OpenAI's shape: ${parsed.error.issues[0]?.message ?? 'unreadable'}`,
        errorClass: 'unknown',
        retryable: false,
        body: text.slice(0, 2_000),
      });
    }
    const answer = parsed.data;
    const embeddings = [...answer.data]
      .sort((a, b) => a.index - b.index)
      .map((item) =>
        typeof item.embedding === 'string' ? decodeFloat32(item.embedding) : item.embedding,
      );
    const usage: Usage = {
      inputTokens: answer.usage?.prompt_tokens ?? answer.usage?.total_tokens,
      outputTokens: 0,
      costUsd: answer.usage?.cost,
    };
    return {
      embeddings,
      model: answer.model ?? request.model,
      usage,
      providerRequestId: requestId ?? undefined,
    };
  };
}

/** Little-endian float32s, base64-encoded, as plain numbers. */
export function decodeFloat32(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  const floats = new Float32Array(bytes.byteLength >>> 2);
  for (let index = 0; index < floats.length; index++) floats[index] = bytes.readFloatLE(index * 4);
  return Array.from(floats);
}

/** Plain numbers as base64 of little-endian float32s (OpenAI's `encoding_format: base64`). */
export function encodeFloat32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatLE(vector[index]!, index * 4);
  return bytes.toString('base64');
}
