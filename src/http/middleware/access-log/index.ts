import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';

export interface AccessLogOptions {
  logger: Logger;
}

/**
 * Puts a child logger carrying the request id on the context and writes one line per request
 * (method, path, status, duration, user when known).
 */
export function accessLog({ logger }: AccessLogOptions): MiddlewareHandler {
  if (!logger) throw new TypeError('accessLog: a logger is required');
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    const requestLogger = logger.child({ request_id: c.get('requestId') });
    c.set('logger', requestLogger);
    await next();
    // Level checked first: below info (production setups often log warn) nothing is built.
    if (!requestLogger.isLevelEnabled('info')) return;
    const auth = c.get('auth') as { userId?: string } | undefined;
    requestLogger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        ...(auth?.userId ? { user_id: auth.userId } : {}),
      },
      'request',
    );
  };
}
