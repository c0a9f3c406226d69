import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { FieldError } from '../lib/domain-errors.ts';

export type { FieldError };

export interface HttpErrorOptions {
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * genloop's one HTTP error, a Hono `HTTPException`. Its response is `application/problem+json`
 * (RFC 9457) with a stable `code` that clients can switch on, and the field errors for a 400.
 * Services throw domain errors instead; the error handler maps those to this.
 *
 * @example
 * throw new HttpError(404, 'not_found', 'generation not found');
 */
export class HttpError extends HTTPException {
  override readonly name = 'HttpError';
  override readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    title: string,
    options: HttpErrorOptions = {},
  ) {
    super(status, { message: title, cause: options.cause });
    this.status = status;
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  /** The problem document, with the request id so a user's report can be found in the logs. */
  toProblem(requestId: string | undefined): Problem {
    return {
      type: `urn:genloop:problem:${this.code}`,
      title: this.message,
      status: this.status,
      code: this.code,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.errors === undefined ? {} : { errors: this.errors }),
      ...(requestId === undefined ? {} : { request_id: requestId }),
    };
  }

  override getResponse(requestId?: string): Response {
    return problemResponse(this.toProblem(requestId), this.headers);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: FieldError[];
  request_id?: string;
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}
