import type { MiddlewareHandler } from 'hono';
import { isUuid, newId } from '../../../lib/uuid.ts';

export interface RequestIdOptions {
  headerName?: string;
}

/**
 * Gives every request an id, echoed in the response header and used in logs, problem documents
 * and telemetry. Unlike hono's request-id middleware it keeps an incoming id only when it is a
 * UUID, because the id becomes `ai_training_examples.request_id` (a uuid column). A client may
 * send the same id again (its retries, or carelessly), so nothing is keyed by it alone: each
 * generation's telemetry row has an id of genloop's, and its provider attempts are keyed by that.
 */
export function requestId({
  headerName = 'x-request-id',
}: RequestIdOptions = {}): MiddlewareHandler {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(headerName);
    const id = incoming !== undefined && isUuid(incoming) ? incoming.toLowerCase() : newId();
    c.set('requestId', id);
    // Set before the handler runs, so it is part of the response the handler builds. Setting a
    // header on a finished response makes Hono rebuild that response (body included), which
    // costs more than the rest of this middleware chain; only responses built without the
    // prepared headers (errors answered by onError, raw Responses) take that path.
    c.header(headerName, id);
    await next();
    if (!c.res.headers.has(headerName)) c.header(headerName, id);
  };
}
