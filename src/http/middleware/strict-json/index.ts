import type { MiddlewareHandler } from 'hono';
import { mayHoldUnstorableText } from '../../../lib/storable-text.ts';
import { HttpError } from '../../http-error.ts';
import { rejectUnstorableText, validationFailed } from '../../validation.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * Deepest nesting of arrays and objects a body may have. Real requests (chat messages, tool
 * schemas, a site to patch) stay far below it; much deeper JSON parses, but serialising it again
 * (for a provider call or a telemetry row) overflows the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** The content types a JSON body may be sent as: `application/json` and the `+json` types. */
export const STRICT_JSON_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;

/** The 415 for a body that is not sent as JSON. */
export function unsupportedMediaType(): HttpError {
  return new HttpError(415, 'unsupported_media_type', 'send the body as application/json', {
    errors: [
      { field: 'header.content-type', code: 'unsupported', message: 'expected application/json' },
    ],
  });
}

/**
 * For requests with a body (or all writes, with `requireBody`): requires `Content-Type: application/json` (415 otherwise), a
 * non-empty body (400 `empty_body`), valid UTF-8 (400 `invalid_utf8`), at most 64 levels of
 * nesting (400 `validation_failed`, `too_deep`), and no string holding a NUL character or a lone
 * UTF-16 surrogate, which Postgres cannot store (400 `validation_failed` naming the field). The
 * bytes stay cached for the JSON validator that follows.
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
    if (!STRICT_JSON_TYPE.test(c.req.header('content-type') ?? '')) throw unsupportedMediaType();
    const text = strictJsonText(await c.req.arrayBuffer());
    // Hono keeps each reading of the body as a promise in bodyCache, by kind; with the text
    // decoded here, the JSON validator parses it directly instead of first turning the cached
    // bytes into a Response to read them again.
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  };
}

/**
 * The checks of {@link strictJson} on a body whose content type already says JSON: not empty,
 * valid UTF-8, not too deep, and no string Postgres cannot store. Returns the text; malformed
 * JSON is left to the caller's parser.
 */
export function strictJsonText(bytes: ArrayBuffer | Uint8Array): string {
  if (bytes.byteLength === 0) {
    throw new HttpError(400, 'empty_body', 'the request body is empty', {
      errors: [{ field: 'body', code: 'required', message: 'a JSON body is required' }],
    });
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_utf8', 'the body is not valid UTF-8', {
      errors: [{ field: 'body', code: 'invalid_utf8', message: 'the body must be UTF-8 text' }],
    });
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw validationFailed([
      {
        field: 'body',
        code: 'too_deep',
        message: `must not nest arrays and objects more than ${MAX_JSON_DEPTH} levels deep`,
      },
    ]);
  }
  if (mayHoldUnstorableText(text)) rejectUnstorableJson(text);
  return text;
}

/** Throws the 400 for the first string Postgres could not store, when the text parses. */
function rejectUnstorableJson(text: string): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return;
  }
  rejectUnstorableText(body);
}

/** The deepest nesting of arrays and objects in JSON text (brackets inside strings skipped). */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c)
        index++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (code === 0x5d || code === 0x7d) depth--;
  }
  return deepest;
}
