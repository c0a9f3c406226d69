import { Gauge } from 'prom-client';
import type { Db } from '../db/types.ts';
import type { Metrics } from '../lib/metrics.ts';

/**
 * Adds `genloop_queue_depth` to the registry: jobs pending or running by recipe and status,
 * read from the queue table when `/metrics` is scraped (so every replica reports the same).
 */
export function registerQueueDepth(metrics: Metrics, db: Db): void {
  const queue = new Gauge({
    name: 'genloop_queue_depth',
    help: 'Jobs pending or running, by recipe and status',
    labelNames: ['recipe', 'status'] as const,
    registers: [metrics.registry],
    async collect() {
      const { rows } = await db.query<{ recipe: string; status: string; count: number }>(
        `select recipe, status, count(*)::int as count from public.ai_generations
          where status in ('pending', 'running') group by recipe, status`,
      );
      queue.reset();
      for (const row of rows) queue.set({ recipe: row.recipe, status: row.status }, row.count);
    },
  });
}
