import { expect, it } from 'vitest';
import { describeEachStack, eventually, type Stack } from '../helpers/stack.ts';

async function generate(stack: Stack, prompt: string) {
  const token = await stack.token();
  const response = await stack.app.request('/functions/v1/generate-site', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { site: unknown; requestId: string; selectedProvider: string };
}

describeEachStack(
  'identical briefs within the cache TTL',
  (use) => {
    it('the second is served from the cache, with no provider call, recorded as generation_cached', async () => {
      const stack = use();
      stack.simulator.reset();
      const first = await generate(stack, 'A cycling club in Launceston');
      await eventually(async () => {
        const { rowCount } = await stack.database.db.query('select 1 from ai_response_cache');
        return rowCount > 0 ? true : undefined;
      });
      const second = await generate(stack, 'A cycling club in Launceston');
      expect(second.site).toEqual(first.site);
      expect(second.requestId).not.toBe(first.requestId);
      expect(second.selectedProvider).toBe(first.selectedProvider);
      expect(stack.simulator.requests({ method: 'POST' })).toHaveLength(1);

      await stack.services.telemetry.flush();
      const { rows } = await stack.database.db.query<{ source: string; selected_provider: string }>(
        'select source, selected_provider from ai_training_examples where request_id = any($1::uuid[]) order by created_at',
        [[first.requestId, second.requestId]],
      );
      expect(rows).toEqual([
        { source: 'generation', selected_provider: first.selectedProvider },
        { source: 'generation_cached', selected_provider: first.selectedProvider },
      ]);
      const attempts = await stack.database.db.query(
        'select 1 from ai_provider_attempts where request_id = $1',
        [second.requestId],
      );
      expect(attempts.rowCount).toBe(0);
    });

    it('a different brief is not served from the cache', async () => {
      const stack = use();
      stack.simulator.reset();
      await generate(stack, 'A pottery studio in Fremantle');
      await generate(stack, 'A pottery studio in Geelong');
      expect(stack.simulator.requests({ method: 'POST' })).toHaveLength(2);
    });
  },
  { GENLOOP_CACHE_TTL_SECONDS: '60' },
);
