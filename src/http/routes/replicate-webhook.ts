import { OpenAPIHono, z } from '@hono/zod-openapi';
import { verifyStandardWebhook } from '../../jobs/webhooks/standard-webhooks.ts';
import { WEBHOOK_PATH } from '../../providers/replicate/adapter.ts';
import { predictionSchema } from '../../providers/replicate/prediction.ts';
import { applyPrediction } from '../../recipes/interior/apply-prediction.ts';
import type { Interior } from '../../recipes/interior/index.ts';
import { webhookEventSeen } from '../../sql/webhook-events.ts';
import { HttpError } from '../http-error.ts';
import { ProblemSchema } from '../problem-schema.ts';
import { fieldErrors } from '../validation.ts';

const problem = { 'application/problem+json': { schema: ProblemSchema } };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `POST /api/v1/webhooks/replicate`, outside bearer auth: Replicate authenticates by its
 * Standard Webhooks signature, verified here over the raw bytes before anything is parsed or
 * written. A bad signature, a stale or future timestamp or a missing header is 400/401 and
 * writes nothing; a body that is not a prediction is 400. A verified delivery is deduplicated by
 * `webhook-id` and applied ({@link applyPrediction}): answered 200 with what became of it, so
 * Replicate stops retrying — except 404 for a prediction no job has (yet) and 503 when the
 * database is unavailable, so that Replicate retries.
 */
export function replicateWebhookRoutes(interior: Interior) {
  const { deps } = interior;
  const app = new OpenAPIHono();

  app.post(WEBHOOK_PATH, async (c) => {
    const secret = await deps.webhookSecret();
    if (!secret) {
      throw new HttpError(503, 'webhook_secret_unavailable', 'webhooks cannot be verified yet', {
        detail: 'set REPLICATE_WEBHOOK_SECRET (GET /v1/webhooks/default/secret on Replicate)',
        headers: { 'retry-after': '30' },
      });
    }
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const verified = verifyStandardWebhook(
      secret,
      {
        id: c.req.header('webhook-id'),
        timestamp: c.req.header('webhook-timestamp'),
        signature: c.req.header('webhook-signature'),
      },
      raw,
    );
    if (!verified.ok) {
      const badRequest = verified.reason === 'missing' || verified.reason === 'malformed';
      throw new HttpError(
        badRequest ? 400 : 401,
        badRequest ? 'webhook_headers_invalid' : 'webhook_signature_invalid',
        badRequest ? 'webhook headers missing or malformed' : 'webhook not verified',
        { detail: verified.message },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(utf8.decode(raw));
    } catch {
      throw new HttpError(400, 'invalid_json', 'the webhook body is not JSON', {
        errors: [{ field: 'body', code: 'invalid_json', message: 'expected a prediction as JSON' }],
      });
    }
    const parsed = predictionSchema.safeParse(body);
    if (!parsed.success) {
      throw new HttpError(400, 'validation_failed', 'the webhook body is not a prediction', {
        errors: fieldErrors(parsed.error, 'json'),
      });
    }
    const log = c.get('logger').child({ webhook_id: verified.id, prediction_id: parsed.data.id });
    try {
      if (await webhookEventSeen(deps.db, verified.id)) {
        log.info('webhook already applied');
        return c.json({ status: 'duplicate' as const }, 200);
      }
      const result = await applyPrediction(deps, parsed.data, { webhookId: verified.id });
      log.info({ result, prediction_status: parsed.data.status }, 'replicate webhook');
      if (result === 'unknown_prediction') {
        // Most likely a prediction whose id is not committed yet (the webhook beat the worker):
        // a non-2xx answer makes Replicate deliver the final webhook again shortly.
        return new HttpError(404, 'unknown_prediction', 'no generation has this prediction (yet)', {
          detail: 'nothing was written; a retried delivery is applied once the prediction is known',
        }).getResponse(c.get('requestId'));
      }
      return c.json({ status: result }, 200);
    } catch (error) {
      log.error({ err: error }, 'applying the webhook failed; Replicate will retry');
      throw new HttpError(503, 'webhook_retry_later', 'the webhook could not be applied now', {
        headers: { 'retry-after': '5' },
        cause: error,
      });
    }
  });

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: WEBHOOK_PATH,
    tags: ['interior'],
    summary: 'Replicate prediction webhooks (Standard Webhooks signature, no bearer token)',
    request: {
      headers: z.object({
        'webhook-id': z.string(),
        'webhook-timestamp': z.string(),
        'webhook-signature': z.string(),
      }),
    },
    responses: {
      200: {
        description: 'Verified; what became of it',
        content: { 'application/json': { schema: z.object({ status: z.string() }) } },
      },
      400: { description: 'Missing headers or not a prediction', content: problem },
      404: {
        description: 'No generation has this prediction (yet); nothing written, Replicate retries',
        content: problem,
      },
      401: { description: 'Bad signature or timestamp out of tolerance', content: problem },
      503: { description: 'Cannot verify or apply now; retry', content: problem },
    },
  });
  return app;
}
