import type { ServerResponse } from 'node:http';
import { faultsForRequest, type SimulatorContext } from '../context.ts';
import { handleEmbeddings } from '../embeddings/handler.ts';
import { type Fault, FaultSyntaxError, findFault, type SimulatedProvider } from '../faults.ts';
import {
  bearerToken,
  header,
  resetConnection,
  type SimulatorRequest,
  sendJson,
  sendJsonText,
  writeAndFlush,
} from '../http.ts';
import { randomId } from '../seeded.ts';
import { completionContent } from './content.ts';
import { type ChatErrorReply, chatError, contentPolicyError } from './errors.ts';
import { messageText } from './text.ts';

/** Models listed by GET /models; any model name is accepted by chat completions and embeddings. */
const MODELS: Record<Exclude<SimulatedProvider, 'replicate'>, string[]> = {
  openai: [
    'gpt-4o-mini',
    'gpt-4o',
    'gpt-4.1-mini',
    'gpt-4.1',
    'gpt-5-mini',
    'text-embedding-3-small',
    'text-embedding-3-large',
  ],
  openrouter: [
    'openai/gpt-4o-mini',
    'anthropic/claude-3.5-haiku',
    'meta-llama/llama-3.1-8b-instruct',
    'openai/text-embedding-3-small',
  ],
  custom: ['llama-3.1-8b-instruct', 'qwen2.5-7b-instruct', 'nomic-embed-text'],
};

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const CHUNK_CHARS = 16;

interface ChatBody {
  model: string;
  messages: unknown[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  response_format?: unknown;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  n?: number | null;
}

/**
 * Serves one OpenAI-compatible prefix (`/openai/v1`, `/openrouter/api/v1`, `/custom/v1`): chat
 * completions, embeddings and the model list.
 */
export async function handleChat(
  context: SimulatorContext,
  request: SimulatorRequest,
): Promise<void> {
  const { provider, method, route, response } = request;
  if (provider !== 'custom' && bearerToken(request.headers) === undefined) {
    return reply(
      response,
      chatError(provider, 401, {
        message:
          provider === 'openrouter'
            ? 'No auth credentials found'
            : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code: null,
      }),
    );
  }
  if (provider === 'replicate') throw new Error('the chat handler does not serve replicate');
  if (method === 'GET' && route === '/models') return listModels(provider, response);
  if (method === 'GET' && route.startsWith('/models/')) {
    return sendJson(
      response,
      200,
      modelObject(provider, decodeURIComponent(route.slice('/models/'.length))),
    );
  }
  if (method === 'POST' && route === '/chat/completions') return chatCompletion(context, request);
  if (method === 'POST' && route === '/embeddings') return handleEmbeddings(context, request);
  return reply(
    response,
    chatError(provider, 404, {
      message: `Unknown request URL: ${method} ${request.url.pathname}.`,
      code: 'unknown_url',
    }),
  );
}

function listModels(
  provider: Exclude<SimulatedProvider, 'replicate'>,
  response: ServerResponse,
): void {
  sendJson(response, 200, {
    object: 'list',
    data: MODELS[provider].map((id) => modelObject(provider, id)),
  });
}

function modelObject(provider: SimulatedProvider, id: string) {
  return {
    id,
    object: 'model',
    created: 1_700_000_000,
    owned_by: provider === 'custom' ? 'vllm' : 'genloop-simulator',
  };
}

function reply(response: ServerResponse, error: ChatErrorReply): void {
  sendJson(response, error.status, error.body, error.headers);
}

function validate(
  provider: SimulatedProvider,
  request: SimulatorRequest,
): ChatBody | ChatErrorReply {
  if (
    request.bodyInvalid ||
    typeof request.body !== 'object' ||
    request.body === null ||
    Array.isArray(request.body)
  ) {
    return chatError(provider, 400, {
      message:
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    });
  }
  const body = request.body as Partial<ChatBody>;
  if (typeof body.model !== 'string' || body.model.length === 0) {
    return chatError(provider, 400, {
      message: 'you must provide a model parameter',
      param: 'model',
    });
  }
  if (!Array.isArray(body.messages)) {
    return chatError(provider, 400, {
      message: "Missing required parameter: 'messages'.",
      param: 'messages',
      code: 'missing_required_parameter',
    });
  }
  if (body.messages.length === 0) {
    return chatError(provider, 400, {
      message:
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      param: 'messages',
      code: 'empty_array',
    });
  }
  const badIndex = body.messages.findIndex(
    (message) =>
      typeof message !== 'object' ||
      message === null ||
      !ROLES.has(String((message as { role?: unknown }).role)),
  );
  if (badIndex !== -1) {
    return chatError(provider, 400, {
      message: `Invalid value for 'messages[${badIndex}].role': expected one of system, developer, user, assistant, tool.`,
      param: `messages[${badIndex}].role`,
      code: 'invalid_value',
    });
  }
  return body as ChatBody;
}

async function chatCompletion(context: SimulatorContext, request: SimulatorRequest): Promise<void> {
  const { provider, response, signal } = request;
  const validated = validate(provider, request);
  if ('status' in validated) return reply(response, validated);
  const body = validated;

  let faults: Fault[];
  try {
    faults = faultsForRequest(
      context,
      provider,
      body.model,
      header(request.headers, 'x-genloop-simulate'),
    );
  } catch (error) {
    if (!(error instanceof FaultSyntaxError)) throw error;
    return reply(
      response,
      chatError(provider, 400, {
        message: `x-genloop-simulate: ${error.message}`,
        code: 'simulator_fault_syntax',
      }),
    );
  }

  if (findFault(faults, 'reset')) return resetConnection(request.request);
  if (findFault(faults, 'hang')) return context.lifecycle.waitForAbort(signal);

  const started = Date.now();
  const slow = findFault(faults, 'slow');
  const delay = slow ? slow.ms : context.latency().sample(provider, body.model);
  if (!(await context.lifecycle.sleep(delay, signal))) return;

  const error = findFault(faults, 'error');
  if (error) {
    return reply(
      response,
      chatError(provider, error.status, { retryAfterSeconds: error.retryAfterSeconds }),
    );
  }
  if (findFault(faults, 'refuse')) return reply(response, contentPolicyError(provider));

  context.stats.chatCompletions += 1;
  const completion = buildCompletion(provider, body, faults);
  const headers = responseHeaders(provider, completion.id, Date.now() - started);
  if (body.stream === true)
    return streamCompletion(context, request, body, completion, faults, headers);
  return answerJson(context, request, body, completion, faults, headers);
}

interface Completion {
  id: string;
  created: number;
  content: string;
  finishReason: 'stop' | 'length';
  usage: Record<string, unknown>;
}

function buildCompletion(
  provider: SimulatedProvider,
  body: ChatBody,
  faults: readonly Fault[],
): Completion {
  let content = completionContent(body, faults);
  const promptTokens =
    body.messages.reduce<number>(
      (sum, message) => sum + 4 + tokens(messageText((message as { content?: unknown }).content)),
      0,
    ) + 3;
  let completionTokens = tokens(content);
  let finishReason: Completion['finishReason'] = 'stop';
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (typeof limit === 'number' && limit > 0 && completionTokens > limit) {
    content = Array.from(content)
      .slice(0, limit * 4)
      .join('');
    completionTokens = limit;
    finishReason = 'length';
  }
  const usage: Record<string, unknown> = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  if (provider === 'openai') {
    usage.prompt_tokens_details = { cached_tokens: 0, audio_tokens: 0 };
    usage.completion_tokens_details = {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    };
  }
  if (provider === 'openrouter') {
    // OpenRouter reports the cost in credits (USD), here at gpt-4o-mini's price per million
    // tokens ($0.15 in, $0.60 out), so simulated spend is the size a real one would be.
    usage.cost = Math.round((promptTokens * 0.15 + completionTokens * 0.6) * 1e4) / 1e10;
  }
  const id =
    provider === 'openrouter'
      ? `gen-${Math.floor(Date.now() / 1000)}-${randomId(20)}`
      : `chatcmpl-${randomId(29)}`;
  return { id, created: Math.floor(Date.now() / 1000), content, finishReason, usage };
}

/** About four characters a token, as OpenAI's rule of thumb says. */
function tokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function responseHeaders(
  provider: SimulatedProvider,
  id: string,
  processingMs: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    'x-request-id': `req_${randomId(32, '0123456789abcdef')}`,
  };
  if (provider === 'openai') {
    headers['openai-processing-ms'] = String(processingMs);
    headers['openai-version'] = '2020-10-01';
    headers['x-ratelimit-limit-requests'] = '10000';
    headers['x-ratelimit-remaining-requests'] = '9999';
  }
  if (provider === 'openrouter') headers['x-generation-id'] = id;
  return headers;
}

function envelope(
  provider: SimulatedProvider,
  body: ChatBody,
  completion: Completion,
  object: string,
) {
  return {
    id: completion.id,
    object,
    created: completion.created,
    model: body.model,
    ...(provider === 'openai'
      ? { service_tier: 'default', system_fingerprint: 'fp_genloop_sim' }
      : {}),
    ...(provider === 'openrouter' ? { provider: upstreamName(body.model) } : {}),
  };
}

function upstreamName(model: string): string {
  const owner = model.includes('/') ? model.slice(0, model.indexOf('/')) : 'openai';
  return owner === 'openai' ? 'OpenAI' : owner.charAt(0).toUpperCase() + owner.slice(1);
}

async function answerJson(
  context: SimulatorContext,
  request: SimulatorRequest,
  body: ChatBody,
  completion: Completion,
  faults: readonly Fault[],
  headers: Record<string, string>,
): Promise<void> {
  const { provider, response, signal } = request;
  const count = Math.min(Math.max(1, body.n ?? 1), 8);
  const payload = {
    ...envelope(provider, body, completion, 'chat.completion'),
    choices: Array.from({ length: count }, (_, index) => ({
      index,
      message: { role: 'assistant', content: completion.content, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: completion.finishReason,
    })),
    usage: completion.usage,
  };
  const stall = findFault(faults, 'stall');
  if (stall && !(await context.lifecycle.sleep(stall.ms, signal))) return;
  const streamError = findFault(faults, 'stream-error');
  if (streamError) return reply(response, chatError(provider, 500));
  const text = JSON.stringify(payload);
  if (findFault(faults, 'malformed-sse')) {
    // The non-streaming twin of a malformed chunk: a 200 whose body is not JSON.
    response.writeHead(200, { 'content-type': 'application/json', ...headers });
    response.end(`${text.slice(0, 40)}<<garbage from the simulator>>`);
    return;
  }
  if (findFault(faults, 'stream-cut')) {
    // The non-streaming twin of a cut stream: half the body, then the connection drops.
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    await writeAndFlush(response, text.slice(0, Math.floor(text.length / 2)));
    request.request.socket.destroy();
    return;
  }
  sendJsonText(response, 200, text, headers);
}

async function streamCompletion(
  context: SimulatorContext,
  request: SimulatorRequest,
  body: ChatBody,
  completion: Completion,
  faults: readonly Fault[],
  headers: Record<string, string>,
): Promise<void> {
  const { provider, response, signal } = request;
  const includeUsage = body.stream_options?.include_usage === true;
  const base = envelope(provider, body, completion, 'chat.completion.chunk');
  const usageField = includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...usageField,
  });
  const chunks: unknown[] = [chunk({ role: 'assistant', content: '', refusal: null }, null)];
  const characters = Array.from(completion.content);
  for (let index = 0; index < characters.length; index += CHUNK_CHARS) {
    chunks.push(chunk({ content: characters.slice(index, index + CHUNK_CHARS).join('') }, null));
  }
  chunks.push(chunk({}, completion.finishReason));
  if (includeUsage) chunks.push({ ...base, choices: [], usage: completion.usage });

  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  // Headers go out now, so even a cut before the first chunk is a cut stream, not a refused call.
  response.flushHeaders();
  const cut = findFault(faults, 'stream-cut');
  const streamError = findFault(faults, 'stream-error');
  const stall = findFault(faults, 'stall');
  const malformed = findFault(faults, 'malformed-sse');
  for (const [index, data] of chunks.entries()) {
    if (cut && index >= cut.chunks) {
      request.request.socket.destroy();
      return;
    }
    if (streamError && index >= streamError.chunks) {
      const error = chatError(provider, 500, {
        message: 'The stream broke on the server (simulated).',
      });
      await writeAndFlush(response, `data: ${JSON.stringify(error.body)}\n\n`);
      response.end();
      return;
    }
    if (malformed && index === 1) {
      if (
        !(await writeAndFlush(
          response,
          'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":\n\n',
        ))
      )
        return;
    }
    if (!(await writeAndFlush(response, `data: ${JSON.stringify(data)}\n\n`))) return;
    if (index === 0 && stall && !(await context.lifecycle.sleep(stall.ms, signal))) return;
  }
  if (cut) {
    request.request.socket.destroy();
    return;
  }
  if (streamError) {
    const error = chatError(provider, 500, {
      message: 'The stream broke on the server (simulated).',
    });
    await writeAndFlush(response, `data: ${JSON.stringify(error.body)}\n\n`);
    response.end();
    return;
  }
  await writeAndFlush(response, 'data: [DONE]\n\n');
  response.end();
}
