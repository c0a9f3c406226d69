import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { toHttpError } from './error-mapping.ts';
import { HttpError } from './http-error.ts';
import { unsupportedMediaType } from './middleware/strict-json/index.ts';

/**
 * The problem an error answers with: an HttpError, a domain error, a refused submission or a
 * routing failure by the one mapping table; hono's own exceptions (malformed JSON and the like)
 * as 400s; anything else is logged with the request id and becomes a bare 500 that leaks
 * nothing. Hono's error handler and the fast lane both answer through this.
 */
export function httpErrorFor(error: unknown, logger: Logger, requestId: string): HttpError {
  const mapped = toHttpError(error);
  if (mapped) {
    if (mapped.code === 'database_unavailable') {
      logger.warn({ err: error, request_id: requestId }, 'database unavailable');
    }
    return mapped;
  }
  if (error instanceof HTTPException && error.status < 500) {
    if (error.status === 413) {
      return new HttpError(413, 'payload_too_large', error.message || 'payload too large');
    }
    // The OpenAPI routes' own media-type gate (a JSON type with parameters it cannot read).
    if (error.status === 415) return unsupportedMediaType();
    // Hono's own 400s come from reading the body (malformed JSON or form data).
    const message = error.message || 'bad request';
    return new HttpError(400, 'bad_request', message, {
      errors: [{ field: 'body', code: 'malformed', message }],
    });
  }
  logger.error({ err: error, request_id: requestId }, 'unhandled error');
  return new HttpError(500, 'internal_error', 'internal server error');
}

/** The app's one error handler: every error answers with its problem document. */
export function errorHandler(logger: Logger): ErrorHandler {
  return function handleError(error, c) {
    const requestId = c.get('requestId');
    return httpErrorFor(error, c.get('logger') ?? logger, requestId).getResponse(requestId);
  };
}

export const notFoundHandler: NotFoundHandler = (c) =>
  new HttpError(404, 'route_not_found', 'no such route', {
    detail: `${c.req.method} ${c.req.path} does not exist; see /openapi.json`,
  }).getResponse(c.get('requestId'));
