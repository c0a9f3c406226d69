import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../../http/validation.ts';
import type { WindowStats } from '../../rollout/canary/decide.ts';
import { readCanaryStatus } from '../../rollout/canary/status.ts';
import {
  ADMIN_PREFIX,
  type Canary,
  CanaryAnswerSchema,
  type CanaryCheck,
  EnvironmentQuerySchema,
} from '../contract.ts';
import { ADMIN_ERRORS, type AdminDeps, adminSecurity, problem } from './shared.ts';

/** `GET /api/v1/admin/canary`: the environment's current or latest canary, as `canary status`. */
export function canaryRoutes({ db, config }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/canary`,
      tags: ['admin'],
      summary:
        "An environment's current or latest canary: state, steps, and each check against its thresholds",
      security: adminSecurity,
      request: { query: EnvironmentQuerySchema },
      responses: {
        200: {
          description: 'The canary (null when the environment never had one)',
          content: { 'application/json': { schema: CanaryAnswerSchema } },
        },
        400: problem('Malformed environment'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { environment = config.environment } = c.req.valid('query');
      const status = await readCanaryStatus(db, environment);
      if (!status) return c.json({ environment, canary: null }, 200);
      // The notify URL stays out: a webhook address may carry a token in its query.
      const { notify_url: _url, checks, ...run } = status;
      const canary: Canary = {
        ...run,
        checks: checks.map(
          ({ log_id, candidate, baseline, ...check }): CanaryCheck => ({
            ...check,
            candidate: sideOf(candidate),
            baseline: sideOf(baseline),
            rollout_log_id: log_id,
          }),
        ),
      };
      return c.json({ environment, canary }, 200);
    },
  );
  return app;
}

/** The measured side of a check in the API's snake_case. */
function sideOf(stats: WindowStats): CanaryCheck['candidate'] {
  return {
    samples: stats.samples,
    fallback_rate: stats.fallbackRate,
    p95_latency_ms: stats.p95LatencyMs,
    schema_valid_rate: stats.schemaValidRate,
    schema_valid_samples: stats.schemaValidSamples,
    safety_rate: stats.safetyRate,
    safety_samples: stats.safetySamples,
  };
}
