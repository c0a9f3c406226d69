import type { Queryable } from '../db/types.ts';

/**
 * Records a webhook delivery by its `webhook-id` (Standard Webhooks), inside the transaction
 * that applies it. Returns false when the id was recorded before: a concurrent duplicate waits
 * on the primary key until the first commits, then sees the conflict, so it is applied once.
 */
export async function recordWebhookEvent(
  db: Queryable,
  input: { webhookId: string; source: string; predictionId: string | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into public.webhook_events (webhook_id, source, prediction_id)
     values ($1, $2, $3)
     on conflict (webhook_id) do nothing`,
    [input.webhookId, input.source, input.predictionId],
  );
  return rowCount === 1;
}

/** Whether a webhook-id was applied already (a cheap check before downloading anything). */
export async function webhookEventSeen(db: Queryable, webhookId: string): Promise<boolean> {
  const { rowCount } = await db.query('select 1 from public.webhook_events where webhook_id = $1', [
    webhookId,
  ]);
  return rowCount > 0;
}
