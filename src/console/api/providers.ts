import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { strictJson } from '../../http/middleware/strict-json/index.ts';
import { validationHook } from '../../http/validation.ts';
import { ROUTE_STRATEGIES, type RouteStrategy } from '../../routing/types.ts';
import {
  ADMIN_PREFIX,
  EnvironmentQuerySchema,
  EnvironmentsSchema,
  type ProviderConfig,
  ProviderParamsSchema,
  ProviderPatchSchema,
  ProvidersSchema,
  type ProviderUpdated,
  ProviderUpdatedSchema,
} from '../contract.ts';
import { updateProvider } from './actions.ts';
import {
  ADMIN_ERRORS,
  type AdminDeps,
  adminSecurity,
  operatorOf,
  problem,
  rowAs,
} from './shared.ts';
import {
  selectAttemptHealth,
  selectCooldowns,
  selectEnvironments,
  selectProviderConfigs,
} from './sql.ts';

/** `/api/v1/admin/providers` and `/environments`: provider configs, their health, and edits. */
export function providerRoutes({ db, config }: AdminDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.on(
    ['PATCH'],
    `${ADMIN_PREFIX}/providers/:environment/:provider`,
    strictJson({ requireBody: true }),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/providers`,
      tags: ['admin'],
      summary: "An environment's provider configs with each provider's live health",
      description:
        'Cooldowns are per environment; attempts carry no environment, so the last hour of attempts (count, error rate, p95) covers every process writing to this database.',
      security: adminSecurity,
      request: { query: EnvironmentQuerySchema },
      responses: {
        200: {
          description: 'The providers',
          content: { 'application/json': { schema: ProvidersSchema } },
        },
        400: problem('Malformed environment'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const environment = c.req.valid('query').environment ?? config.environment;
      const [configs, cooldowns, attempts] = await Promise.all([
        selectProviderConfigs(db, environment),
        selectCooldowns(db, environment),
        selectAttemptHealth(db),
      ]);
      const providers = configs.map((row): ProviderConfig => {
        const cooldown = cooldowns.find((entry) => entry.provider === row.provider);
        const recent = attempts.find((entry) => entry.provider === row.provider);
        return {
          ...rowAs<Omit<ProviderConfig, 'health'>>(row),
          health: {
            cooling_down: cooldown?.cooling_down ?? false,
            cooldown_until: cooldown?.cooldown_until?.toISOString() ?? null,
            consecutive_failures: cooldown?.consecutive_failures ?? 0,
            last_error_class: cooldown?.last_error_class ?? null,
            attempts_1h: recent?.attempts ?? 0,
            error_rate_1h: recent
              ? Math.round((recent.errors / recent.attempts) * 1e6) / 1e6
              : null,
            p95_latency_ms_1h: recent?.p95_latency_ms ?? null,
          },
        };
      });
      return c.json({ environment, route_strategy: strategyOf(providers), providers }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: `${ADMIN_PREFIX}/providers/{environment}/{provider}`,
      tags: ['admin'],
      summary: "Edit a provider's weight, enabled or default flag (written to the rollout log)",
      description:
        'One transaction with its ai_rollout_log row (action provider_update, the operator, the values before and after). Refused with 409 and nothing changed when it would leave two defaults (default_already_set), a disabled default (default_must_be_enabled) or no enabled provider (last_enabled_provider). Every replica reloads its routing configs on the change.',
      security: adminSecurity,
      request: {
        params: ProviderParamsSchema,
        body: { required: true, content: { 'application/json': { schema: ProviderPatchSchema } } },
      },
      responses: {
        200: {
          description: 'Changed and logged',
          content: { 'application/json': { schema: ProviderUpdatedSchema } },
        },
        400: problem('Malformed environment, provider or body'),
        404: problem('The environment has no config for this provider'),
        409: problem('The edit would break a rule of the provider configs'),
        413: problem('Body too large'),
        415: problem('Not JSON'),
        ...ADMIN_ERRORS,
      },
    }),
    async (c) => {
      const { environment, provider } = c.req.valid('param');
      const operator = operatorOf(c);
      const result = await updateProvider(db, {
        environment,
        provider,
        patch: c.req.valid('json'),
        operator,
      });
      c.get('logger').info(
        { environment, provider, operator, rollout_log_id: result.rolloutLogId },
        'provider config edited',
      );
      const body: ProviderUpdated = {
        provider: rowAs<ProviderUpdated['provider']>(result.provider),
        rollout_log_id: result.rolloutLogId,
      };
      return c.json(body, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${ADMIN_PREFIX}/environments`,
      tags: ['admin'],
      summary: 'The environments that have provider configs',
      security: adminSecurity,
      responses: {
        200: {
          description: 'The environments',
          content: { 'application/json': { schema: EnvironmentsSchema } },
        },
        ...ADMIN_ERRORS,
      },
    }),
    async (c) =>
      c.json({ current: config.environment, environments: await selectEnvironments(db) }, 200),
  );

  return app;
}

/** The environment's strategy as the router reads it: its default's metadata, else fallback. */
function strategyOf(providers: readonly ProviderConfig[]): RouteStrategy {
  const declared = providers.find((row) => row.is_default && row.enabled)?.metadata.route_strategy;
  return (ROUTE_STRATEGIES as readonly unknown[]).includes(declared)
    ? (declared as RouteStrategy)
    : 'fallback';
}
