import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { toHttpError } from './error-mapping.ts';
import { HttpError } from './http-error.ts';

/**
 * The app's one error handler: an HttpError, a domain error, a refused submission or a routing
 * failure answers with its problem document (mapped in one table); hono's own exceptions
 * (malformed JSON and the like) become 400s; anything else is logged with the request id and
 * answered as a bare 500 that leaks nothing.
 */
export function errorHandler(logger: Logger): ErrorHandler {
  return function handleError(error, c) {
    const requestId = c.get('requestId');
    const mapped = toHttpError(error);
    if (mapped) {
      if (mapped.code === 'database_unavailable') {
        (c.get('logger') ?? logger).warn(
          { err: error, request_id: requestId },
          'database unavailable',
        );
      }
      return mapped.getResponse(requestId);
    }
    if (error instanceof HTTPException && error.status < 500) {
      if (error.status === 413) {
        return new HttpError(
          413,
          'payload_too_large',
          error.message || 'payload too large',
        ).getResponse(requestId);
      }
      // Hono's own 400s come from reading the body (malformed JSON or form data).
      const message = error.message || 'bad request';
      return new HttpError(400, 'bad_request', message, {
        errors: [{ field: 'body', code: 'malformed', message }],
      }).getResponse(requestId);
    }
    (c.get('logger') ?? logger).error({ err: error, request_id: requestId }, 'unhandled error');
    return new HttpError(500, 'internal_error', 'internal server error').getResponse(requestId);
  };
}

export const notFoundHandler: NotFoundHandler = (c) =>
  new HttpError(404, 'route_not_found', 'no such route', {
    detail: `${c.req.method} ${c.req.path} does not exist; see /openapi.json`,
  }).getResponse(c.get('requestId'));
