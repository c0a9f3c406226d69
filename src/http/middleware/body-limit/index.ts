import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { HttpError } from '../../http-error.ts';

export interface BodyLimitOptions {
  maxBytes: number;
}

/** The test the JSON readers (strict-json, the upload route) apply to Content-Type. */
const JSON_READERS_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;
const MULTIPART_TYPE = /^multipart\/form-data\s*(;|$)/i;

/**
 * True for a body that will be read as JSON: `application/json`, the `+json` types, and any other
 * media type naming JSON. It errs towards JSON, because a body a reader parses as JSON must never
 * escape the JSON limit through a Content-Type this test missed.
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (JSON_READERS_TYPE.test(contentType)) return true;
  const semicolon = contentType.indexOf(';');
  const mediaType = semicolon === -1 ? contentType : contentType.slice(0, semicolon);
  return /json/i.test(mediaType);
}

/** True for `multipart/form-data`, the only type photo uploads come as. */
export function isMultipartContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && MULTIPART_TYPE.test(contentType);
}

/** The 413 for a body over `maxBytes`. */
export function payloadTooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', 'request body too large', {
    detail: `the body exceeds ${maxBytes} bytes`,
  });
}

/**
 * Rejects bodies over `maxBytes` with 413 `payload_too_large`: at once when Content-Length says
 * so, and for chunked uploads as soon as the running count passes the limit, before the body
 * is buffered (hono's body-limit does the counting).
 */
export function bodyLimit({ maxBytes }: BodyLimitOptions): MiddlewareHandler {
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw new TypeError(`bodyLimit: maxBytes must be a positive integer, got ${maxBytes}`);
  }
  const tooLarge: Parameters<typeof honoBodyLimit>[0]['onError'] = (c) =>
    payloadTooLarge(maxBytes).getResponse(c.get('requestId'));
  const counting = honoBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function bodyLimitMiddleware(c, next) {
    // Decided from the headers alone when Content-Length is given, as hono's middleware does,
    // but without touching `c.req.raw.body`: on @hono/node-server that getter turns the request
    // into a full web Request with a stream body, which costs every JSON request dearly.
    const method = c.req.method;
    const length = c.req.header('content-length');
    if (method !== 'GET' && method !== 'HEAD' && length !== undefined) {
      if (c.req.header('transfer-encoding') === undefined) {
        if (Number.parseInt(length, 10) > maxBytes) return tooLarge(c);
        await next();
        return;
      }
    }
    return counting(c, next);
  };
}
