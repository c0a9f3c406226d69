import type { MiddlewareHandler } from 'hono';
import { HttpError } from '../../http-error.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * For requests with a body (or all writes, with `requireBody`): requires `Content-Type: application/json` (415 otherwise), a
 * non-empty body (400 `empty_body`) and valid UTF-8 (400 `invalid_utf8`). The bytes stay cached
 * for the JSON validator that follows.
 */
export function strictJson({
  requireBody = false,
}: {
  requireBody?: boolean;
} = {}): MiddlewareHandler {
  return async function strictJsonMiddleware(c, next) {
    const length = c.req.header('content-length');
    const hasBody =
      (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || (!hasBody && !requireBody)) {
      await next();
      return;
    }
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
      throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json', {
        errors: [
          {
            field: 'header.content-type',
            code: 'unsupported',
            message: 'expected application/json',
          },
        ],
      });
    }
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength === 0) {
      throw new HttpError(400, 'empty_body', 'the request body is empty', {
        errors: [{ field: 'body', code: 'required', message: 'a JSON body is required' }],
      });
    }
    try {
      decoder.decode(bytes);
    } catch {
      throw new HttpError(400, 'invalid_utf8', 'the body is not valid UTF-8', {
        errors: [{ field: 'body', code: 'invalid_utf8', message: 'the body must be UTF-8 text' }],
      });
    }
    await next();
  };
}
