import { type ChatErrorReply, chatError } from '../chat/errors.ts';
import { faultsForRequest, type SimulatorContext } from '../context.ts';
import { type Fault, FaultSyntaxError, findFault } from '../faults.ts';
import { header, resetConnection, type SimulatorRequest, sendJson, sendJsonText } from '../http.ts';
import { randomId } from '../seeded.ts';
import { embedText } from './vectors.ts';

/** The full size of the models whose vectors OpenAI documents. */
const NATIVE_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};
/** Any other model answers 1536 dimensions, or as many as asked up to this. */
const DEFAULT_DIMENSIONS = 1536;
const MAX_OTHER_DIMENSIONS = 3072;

/** OpenAI's own limit on inputs per request. */
const MAX_INPUTS = 2048;

type Input = string | number[];

interface EmbeddingsBody {
  model: string;
  inputs: Input[];
  dimensions: number;
  base64: boolean;
}

/**
 * `POST /embeddings` on every OpenAI-compatible prefix: deterministic unit vectors (see
 * vectors.ts) of the model's size or of `dimensions`, as floats or base64 float32s, with usage
 * counted like the chat completions' (about four characters a token). Faults and latency apply
 * as to chat calls: reset, hang, slow, error.
 */
export async function handleEmbeddings(
  context: SimulatorContext,
  request: SimulatorRequest,
): Promise<void> {
  const { provider, response, signal } = request;
  const body = validate(request);
  if ('status' in body) return sendJson(response, body.status, body.body, body.headers);

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
    const reply = chatError(provider, 400, {
      message: `x-genloop-simulate: ${error.message}`,
      code: 'simulator_fault_syntax',
    });
    return sendJson(response, reply.status, reply.body, reply.headers);
  }
  if (findFault(faults, 'reset')) return resetConnection(request.request);
  if (findFault(faults, 'hang')) return context.lifecycle.waitForAbort(signal);
  const slow = findFault(faults, 'slow');
  const delay = slow ? slow.ms : context.latency().sample(provider, body.model);
  if (!(await context.lifecycle.sleep(delay, signal))) return;
  const error = findFault(faults, 'error');
  if (error) {
    const reply = chatError(provider, error.status, {
      retryAfterSeconds: error.retryAfterSeconds,
    });
    return sendJson(response, reply.status, reply.body, reply.headers);
  }

  context.stats.embeddings += 1;
  let promptTokens = 0;
  const data = body.inputs.map((input, index) => {
    const text = typeof input === 'string' ? input : input.map((token) => `t${token}`).join(' ');
    promptTokens +=
      typeof input === 'string' ? Math.max(1, Math.ceil(input.length / 4)) : input.length;
    const vector = embedText(text, body.dimensions);
    return {
      object: 'embedding',
      index,
      embedding: body.base64 ? base64Float32(vector) : vector,
    };
  });
  const usage: Record<string, number> = { prompt_tokens: promptTokens, total_tokens: promptTokens };
  // OpenRouter reports the cost (USD), here at text-embedding-3-small's $0.02 per million tokens.
  if (provider === 'openrouter') usage.cost = Math.round(promptTokens * 0.02 * 1e4) / 1e10;
  sendJsonText(response, 200, JSON.stringify({ object: 'list', data, model: body.model, usage }), {
    'x-request-id': `req_${randomId(32, '0123456789abcdef')}`,
  });
}

function validate(request: SimulatorRequest): EmbeddingsBody | ChatErrorReply {
  const { provider } = request;
  const body = request.body as Record<string, unknown> | undefined;
  if (request.bodyInvalid || typeof body !== 'object' || body === null || Array.isArray(body)) {
    return chatError(provider, 400, {
      message: 'We could not parse the JSON body of your request.',
    });
  }
  if (typeof body.model !== 'string' || body.model.length === 0) {
    return chatError(provider, 400, {
      message: 'you must provide a model parameter',
      param: 'model',
    });
  }
  const inputs = inputsOf(body.input);
  if (typeof inputs === 'string') {
    return chatError(provider, 400, { message: inputs, param: 'input', code: 'invalid_value' });
  }
  const known = NATIVE_DIMENSIONS[body.model.replace(/^openai\//, '')];
  const native = known ?? MAX_OTHER_DIMENSIONS;
  let dimensions = known ?? DEFAULT_DIMENSIONS;
  if (body.dimensions !== undefined && body.dimensions !== null) {
    if (
      typeof body.dimensions !== 'number' ||
      !Number.isInteger(body.dimensions) ||
      body.dimensions < 1 ||
      body.dimensions > native
    ) {
      return chatError(provider, 400, {
        message: `Invalid 'dimensions': expected an integer from 1 to ${native} for ${body.model}.`,
        param: 'dimensions',
        code: 'invalid_value',
      });
    }
    if (body.model.endsWith('text-embedding-ada-002')) {
      return chatError(provider, 400, {
        message: 'This model does not support specifying dimensions.',
        param: 'dimensions',
        code: 'invalid_value',
      });
    }
    dimensions = body.dimensions;
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return chatError(provider, 400, {
      message: "Invalid 'encoding_format': expected 'float' or 'base64'.",
      param: 'encoding_format',
      code: 'invalid_value',
    });
  }
  return { model: body.model, inputs, dimensions, base64: format === 'base64' };
}

/** The inputs as a list, or the message of a 400 (OpenAI refuses empty strings and lists). */
function inputsOf(input: unknown): Input[] | string {
  const tokens = (value: unknown): value is number[] =>
    Array.isArray(value) && value.length > 0 && value.every((item) => Number.isInteger(item));
  let inputs: unknown[];
  if (typeof input === 'string' || tokens(input)) inputs = [input];
  else if (Array.isArray(input)) inputs = input;
  else return "Missing or invalid 'input': expected a string or an array of strings.";
  if (inputs.length === 0) return "Invalid 'input': empty array.";
  if (inputs.length > MAX_INPUTS)
    return `Invalid 'input': at most ${MAX_INPUTS} inputs per request.`;
  for (const [index, item] of inputs.entries()) {
    if (typeof item === 'string' ? item.length === 0 : !tokens(item)) {
      return `Invalid 'input[${index}]': expected a non-empty string or array of token ids.`;
    }
  }
  return inputs as Input[];
}

function base64Float32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatLE(vector[index]!, index * 4);
  return bytes.toString('base64');
}
