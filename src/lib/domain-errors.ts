/** One field that failed validation, named by its path in the request (`body.source_text`). */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/**
 * What kind of refusal a domain error is. The HTTP layer maps each kind to one status, in one
 * table, so services say what went wrong without knowing how it is answered.
 */
export type DomainErrorKind =
  /** The request is wrong: a field, a file, a combination (400). */
  | 'invalid'
  /** The object does not exist or is not the caller's (404: never reveal which). */
  | 'not_found'
  /** The object is in a state that does not allow this (409). */
  | 'conflict'
  /** Understood, but the content is refused (422). */
  | 'refused'
  /** The caller's spending limit is reached until its period resets (402). */
  | 'over_budget'
  /** Nothing can serve this now; try again later (503). */
  | 'unavailable';

export interface DomainErrorOptions {
  detail?: string;
  errors?: FieldError[];
  /** When trying again makes sense (an unavailable dependency). */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * A refusal in genloop's own terms, thrown by services and recipes. `code` is the stable code
 * clients switch on; `message` is the one-line title.
 *
 * @example
 * throw new DomainError('not_found', 'not_found', 'generation not found');
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly kind: DomainErrorKind;
  readonly code: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: DomainErrorKind,
    code: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The refusal of a request with fields at fault: `validation_failed` listing each of them. */
export function validationFailed(errors: FieldError[]): DomainError {
  return new DomainError('invalid', 'validation_failed', 'request validation failed', {
    detail: errors.map((error) => `${error.field}: ${error.message}`).join('; '),
    errors,
  });
}

/** `what` does not exist, or belongs to someone else: the two are never told apart. */
export function notFound(what: string): DomainError {
  return new DomainError('not_found', 'not_found', `${what} not found`);
}
