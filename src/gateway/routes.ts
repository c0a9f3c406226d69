import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { honoAnswer, honoExchange } from '../http/exchange.ts';
import { strictJson } from '../http/middleware/strict-json/index.ts';
import { problemContent } from '../http/problem-schema.ts';
import { validationHook } from '../http/validation.ts';
import {
  CHAT_COMPLETIONS_PATH,
  type ChatCompletionBody,
  ChatCompletionRequestSchema,
  type ChatCompletions,
} from './chat-completions.ts';
import { routedCallErrors } from './openapi.ts';

/**
 * The OpenAI-compatible gateway on Hono: `POST /v1/chat/completions` and `GET /v1/models`. Any
 * OpenAI SDK pointed at genloop gets routing, fallback and telemetry; responses carry the
 * routing metadata in headers (`x-request-id`, `x-genloop-*`, `server-timing`). A running server
 * answers most chat completions on its fast lane instead, with the same handler.
 */
export function chatCompletionRoutes(chat: ChatCompletions) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.on(['POST'], CHAT_COMPLETIONS_PATH, strictJson({ requireBody: true }));

  app.openapi(
    createRoute({
      method: 'post',
      path: CHAT_COMPLETIONS_PATH,
      tags: ['gateway'],
      summary: 'OpenAI-compatible chat completions (JSON or SSE), routed and recorded',
      security: [{ bearerAuth: [] }],
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: ChatCompletionRequestSchema } },
        },
      },
      responses: {
        200: {
          description: 'The completion, or an SSE stream of chunks when stream is true',
          content: {
            'application/json': { schema: z.record(z.string(), z.unknown()) },
            'text/event-stream': { schema: z.string() },
          },
        },
        400: {
          description: 'Malformed request, unknown model, or a bad `x-genloop-cache` header',
          content: problemContent,
        },
        ...routedCallErrors,
      },
    }),
    (async (c: Context) => {
      const body = c.req.valid('json' as never) as ChatCompletionBody;
      return honoAnswer(c, await chat.handle(honoExchange(c), body));
    }) as never,
  );

  app.get('/v1/models', async (c) => {
    const created = Math.floor(Date.now() / 1000);
    const models = await chat.models();
    return c.json({
      object: 'list',
      data: [...models].map(([id, owner]) => ({ id, object: 'model', created, owned_by: owner })),
    });
  });

  return app;
}
