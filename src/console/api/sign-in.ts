import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { ResolvedConfig } from '../../config/schema.ts';
import { HttpError } from '../../http/http-error.ts';
import { strictJson } from '../../http/middleware/strict-json/index.ts';
import { validationHook } from '../../http/validation.ts';
import { ADMIN_PREFIX, SignInBodySchema, SignInResultSchema } from '../contract.ts';
import { type SignInCode, signConsoleToken } from '../sign-in-code.ts';
import { problem } from './shared.ts';

/** The path of the exchange; it takes no token (the code is the credential). */
export const SIGN_IN_PATH = `${ADMIN_PREFIX}/sign-in`;

/**
 * `POST /api/v1/admin/sign-in`: exchanges the one-time code of the console link `genloop serve`
 * prints in embedded mode for a 12-hour service_role token. Without such a code (any other
 * mode) the route answers 404: the console is then signed into with a pasted service-role token
 * or API key.
 */
export function signInRoutes({
  config,
  signInCode,
}: {
  config: ResolvedConfig;
  signInCode?: SignInCode | undefined;
}) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.use(SIGN_IN_PATH, strictJson({ requireBody: true }));
  app.openapi(
    createRoute({
      method: 'post',
      path: SIGN_IN_PATH,
      tags: ['admin'],
      summary: "Exchange the console link's one-time code for a service_role token (embedded mode)",
      request: {
        body: { required: true, content: { 'application/json': { schema: SignInBodySchema } } },
      },
      responses: {
        200: {
          description: 'Signed in',
          content: { 'application/json': { schema: SignInResultSchema } },
        },
        400: problem('Wrong, used or expired code (sign_in_code_invalid), or a malformed body'),
        404: problem('No sign-in code in this mode (sign_in_unavailable)'),
        413: problem('Body too large'),
        415: problem('Not JSON'),
      },
    }),
    async (c) => {
      const { code } = c.req.valid('json');
      const secret = config.auth.jwtSecret;
      if (!signInCode || secret === undefined) {
        throw new HttpError(
          404,
          'sign_in_unavailable',
          'sign-in codes exist only in embedded mode',
          {
            detail: 'sign in with a service-role token or an API key from GENLOOP_API_KEYS',
          },
        );
      }
      if (!signInCode.consume(code)) {
        throw new HttpError(
          400,
          'sign_in_code_invalid',
          'the sign-in code is wrong, used or expired',
          {
            detail:
              'each console link works once, for 15 minutes; restart genloop serve for a new one',
            errors: [{ field: 'body.code', code: 'invalid', message: 'not a valid sign-in code' }],
          },
        );
      }
      const { token, expiresAt } = await signConsoleToken({
        jwtSecret: secret,
        audience: config.auth.audience,
        issuer: config.auth.issuer,
      });
      c.get('logger').info('console signed in with the one-time code');
      return c.json(
        { access_token: token, token_type: 'bearer' as const, expires_at: expiresAt.toISOString() },
        200,
      );
    },
  );
  return app;
}
