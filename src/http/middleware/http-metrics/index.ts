import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from '../../../lib/metrics.ts';

export interface HttpMetricsOptions {
  metrics: Metrics;
}

/** Counts requests and their duration by route pattern (not raw path, so ids don't explode labels). */
export function httpMetrics({ metrics }: HttpMetricsOptions): MiddlewareHandler {
  if (!metrics) throw new TypeError('httpMetrics: metrics is required');
  return async function httpMetricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    const route =
      c.res.status === 404 && c.error === undefined ? 'unmatched' : routePath(c, -1) || 'unmatched';
    metrics.httpRequests.count({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe(
      { method: c.req.method, route },
      (performance.now() - started) / 1000,
    );
  };
}
