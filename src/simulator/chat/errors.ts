import type { SimulatedProvider } from '../faults.ts';

/** What a chat provider answers for a status: body in the provider's error shape, and headers. */
export interface ChatErrorReply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

const OPENAI_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request (simulated).' },
  401: {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided (simulated).',
  },
  403: {
    type: 'permission_error',
    code: null,
    message: 'You are not allowed to use this model (simulated).',
  },
  404: {
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist (simulated).',
  },
  409: { type: 'invalid_request_error', code: 'conflict', message: 'Conflict (simulated).' },
  413: { type: 'invalid_request_error', code: 'request_too_large', message: 'Request too large.' },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests (simulated). Please try again later.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request (simulated).',
  },
  502: { type: 'server_error', code: null, message: 'Bad gateway (simulated).' },
  503: {
    type: 'server_error',
    code: 'service_unavailable',
    message: 'The engine is currently overloaded, please try again later (simulated).',
  },
  504: { type: 'server_error', code: null, message: 'Gateway timeout (simulated).' },
};

/**
 * An error reply in the provider's own shape: OpenAI's `{error:{message,type,param,code}}` for
 * openai and custom (vLLM and Ollama use it too), OpenRouter's `{error:{code:<status>,message}}`.
 * Retry-After (seconds) and retry-after-ms go with any `retryAfterSeconds`.
 */
export function chatError(
  provider: SimulatedProvider,
  status: number,
  options: {
    message?: string;
    code?: string | null;
    param?: string | null;
    retryAfterSeconds?: number;
  } = {},
): ChatErrorReply {
  const known = OPENAI_ERRORS[status] ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
    message: `Simulated error ${status}.`,
  };
  const message = options.message ?? known.message;
  const headers: Record<string, string> = {};
  if (options.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(options.retryAfterSeconds);
    headers['retry-after-ms'] = String(options.retryAfterSeconds * 1000);
  }
  if (status === 429) {
    headers['x-ratelimit-limit-requests'] = '10000';
    headers['x-ratelimit-remaining-requests'] = '0';
    headers['x-ratelimit-reset-requests'] = `${options.retryAfterSeconds ?? 1}s`;
  }
  if (provider === 'openrouter') {
    return {
      status,
      headers,
      body: {
        error: {
          code: status,
          message,
          ...(options.code ? { metadata: { reasons: [options.code] } } : {}),
        },
      },
    };
  }
  return {
    status,
    headers,
    body: {
      error: {
        message,
        type: known.type,
        param: options.param ?? null,
        code: options.code === undefined ? known.code : options.code,
      },
    },
  };
}

/** The content-policy refusal OpenAI answers with status 400. */
export function contentPolicyError(provider: SimulatedProvider): ChatErrorReply {
  return chatError(provider, 400, {
    code: 'content_policy_violation',
    message:
      'Your request was rejected as a result of our safety system (simulated). Your prompt may contain text that is not allowed.',
  });
}
