import { OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../http/validation.ts';
import { budgetRoutes } from './api/budgets.ts';
import { canaryRoutes } from './api/canary.ts';
import { evalRoutes } from './api/evals.ts';
import { generationRoutes } from './api/generations.ts';
import { jobRoutes } from './api/jobs.ts';
import { overviewRoutes } from './api/overview.ts';
import { providerRoutes } from './api/providers.ts';
import { rolloutRoutes } from './api/rollouts.ts';
import type { AdminDeps } from './api/shared.ts';
import { SIGN_IN_PATH, signInRoutes } from './api/sign-in.ts';
import { spendRoutes } from './api/spend.ts';
import { consoleAssetRoutes } from './assets.ts';
import type { SignInCode } from './sign-in-code.ts';

export { ADMIN_PREFIX } from './contract.ts';
export { SIGN_IN_PATH };

export interface ConsoleDeps extends AdminDeps {
  /** The one-time code of the console link (embedded mode); none elsewhere. */
  signInCode?: SignInCode | undefined;
}

/**
 * The operator console: its admin JSON API under `/api/v1/admin` (the HTTP shell lets only the
 * service role and API keys through, except to the sign-in exchange) and its pages under
 * `/console`.
 */
export function consoleRoutes({ db, config, signInCode }: ConsoleDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const deps = { db, config };
  app.route('/', signInRoutes({ config, signInCode }));
  app.route('/', overviewRoutes(deps));
  app.route('/', generationRoutes(deps));
  app.route('/', jobRoutes(deps));
  app.route('/', providerRoutes(deps));
  app.route('/', evalRoutes(deps));
  app.route('/', rolloutRoutes(deps));
  app.route('/', canaryRoutes(deps));
  app.route('/', budgetRoutes(deps));
  app.route('/', spendRoutes(deps));
  app.route('/', consoleAssetRoutes());
  return app;
}
