import { BASE, navigate, withQuery } from './router.ts';
import { forgetToken, readToken } from './session.ts';

/** Where the admin API lives; the console reads nothing else. */
export const ADMIN = '/api/v1/admin';

/** A field the API named in a 400. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * A refused or failed call, from the API's problem+json: `detail` (else `title`) is written for
 * people and is what the pages show. `status` 0 means genloop did not answer at all.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string | undefined;
  readonly fields: FieldError[];
  /** The id genloop logged the request under, for a report. */
  readonly requestId: string | undefined;

  constructor(
    status: number,
    message: string,
    {
      code,
      fields = [],
      requestId,
    }: { code?: string | undefined; fields?: FieldError[]; requestId?: string | undefined } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.requestId = requestId;
  }
}

interface Problem {
  title?: unknown;
  request_id?: unknown;
  detail?: unknown;
  code?: unknown;
  errors?: unknown;
}

/** What the sign-in page says when it was reached because the session ended. */
let signInNotice: string | undefined;

/** The reason the last session ended, once. */
export function takeSignInNotice(): string | undefined {
  const notice = signInNotice;
  signInNotice = undefined;
  return notice;
}

/** Forgets the token and goes to the sign-in page, coming back to this page afterwards. */
export function signOut(notice?: string): void {
  forgetToken();
  signInNotice = notice;
  const here = window.location.pathname + window.location.search;
  const next = here.startsWith(`${BASE}/sign-in`) ? undefined : here;
  navigate(withQuery(`${BASE}/sign-in`, { next }), { replace: true });
}

async function problemOf(response: Response): Promise<ApiError> {
  let problem: Problem = {};
  try {
    problem = (await response.json()) as Problem;
  } catch {
    // Not JSON (a proxy's error page): the status line has to do.
  }
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  // The title says what happened and the detail, when there is one, what to do about it.
  const title = text(problem.title);
  const detail = text(problem.detail);
  const message =
    [title, detail].filter(Boolean).join(': ') ||
    `genloop answered ${response.status} ${response.statusText}`.trim();
  const fields = Array.isArray(problem.errors)
    ? problem.errors.flatMap((entry: { field?: unknown; message?: unknown }) =>
        typeof entry?.field === 'string'
          ? [{ field: entry.field, message: text(entry.message) ?? 'invalid' }]
          : [],
      )
    : [];
  return new ApiError(response.status, message, {
    code: text(problem.code),
    fields,
    requestId: text(problem.request_id),
  });
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH';
  body?: unknown;
  signal?: AbortSignal;
  /** Send this token instead of the stored one (signing in checks a token before keeping it). */
  token?: string;
  /** Leave a 401 to the caller instead of ending the session. */
  keepSession?: boolean;
}

/**
 * Calls genloop's API as the signed-in operator and returns the parsed JSON. Throws ApiError
 * with the API's own words when it refuses; a 401 (the token expired or was revoked) ends the
 * session and sends the operator to the sign-in page.
 */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = 'GET', body, signal, keepSession = false } = options;
  const token = options.token ?? readToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
      cache: 'no-store',
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'genloop did not answer. Check that the server is running, then retry.');
  }
  if (!response.ok) {
    const error = await problemOf(response);
    if (response.status === 401 && !keepSession) {
      signOut(`Your session ended (${error.message}). Sign in again.`);
    }
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
