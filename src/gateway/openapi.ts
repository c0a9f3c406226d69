import { problemContent } from '../http/problem-schema.ts';

/**
 * The error answers every routed `/v1` call can give, for a route's OpenAPI `responses` (each
 * route adds its own 200 and 400): the auth, budget and body checks before the call, and the
 * routing failures after it.
 */
export const routedCallErrors = {
  401: { description: 'Missing or invalid token / API key', content: problemContent },
  402: {
    description:
      "The caller's dollar budget cannot cover this call until its period resets (`budget_exceeded`, with Retry-After)",
    content: problemContent,
  },
  413: { description: 'Request body over the size limit', content: problemContent },
  415: { description: 'The body is not application/json', content: problemContent },
  422: {
    description:
      'The model is pinned to a provider that is not enabled, or the provider refused the request',
    content: problemContent,
  },
  502: { description: 'Every provider failed', content: problemContent },
  503: { description: 'No provider enabled', content: problemContent },
  504: { description: 'The last provider timed out', content: problemContent },
} as const;
