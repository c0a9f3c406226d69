import type { MiddlewareHandler } from 'hono';
import type { Problem } from '../../http-error.ts';

/** The error object OpenAI's API answers with, which every OpenAI SDK reads for its message. */
export interface OpenAIErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string;
}

/**
 * On the OpenAI-compatible routes, adds OpenAI's `error` object to every problem document, as an
 * extension member (RFC 9457 §3.2): OpenAI SDKs then report the message, the parameter at fault
 * and genloop's code, while other clients still read the problem. Registered before the body
 * limit and authentication, so their refusals get it too; successful responses are not touched.
 */
export function openAIErrors(): MiddlewareHandler {
  return async function openAIErrorsMiddleware(c, next) {
    await next();
    if (c.res.status < 400) return;
    if (!c.res.headers.get('content-type')?.startsWith('application/problem+json')) return;
    const problem = (await c.res.json()) as Problem;
    c.res = new Response(JSON.stringify({ ...problem, error: openAIErrorObject(problem) }), {
      status: c.res.status,
      headers: c.res.headers,
    });
  };
}

/** OpenAI's error object for a problem document. */
export function openAIErrorObject(problem: Problem): OpenAIErrorObject {
  const field = problem.errors?.[0]?.field;
  return {
    message: problem.detail ?? problem.title,
    type: errorType(problem.status),
    param: field === undefined ? null : field.replace(/^body\./, ''),
    code: problem.code,
  };
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  // What OpenAI answers when an account's credit is spent.
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}
