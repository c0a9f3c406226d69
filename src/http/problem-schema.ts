import { z } from '@hono/zod-openapi';

/** The problem document every error answers with (RFC 9457 + genloop's `code`). */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable machine-readable error code'),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .describe('Field errors of a 400'),
    request_id: z.string().optional(),
    error: z
      .object({
        message: z.string(),
        type: z.string(),
        param: z.string().nullable(),
        code: z.string(),
      })
      .optional()
      .describe("On the /v1 routes only: the same error in OpenAI's shape, read by OpenAI SDKs"),
  })
  .openapi('Problem');

/** The `content` of an error response in a route's OpenAPI definition. */
export const problemContent = { 'application/problem+json': { schema: ProblemSchema } };

/** The `security` of a route that needs a bearer token. */
export const bearerSecurity = [{ bearerAuth: [] }];
