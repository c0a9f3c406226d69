import { expect, it } from 'vitest';
import type { Db } from '../../src/db/types.ts';
import { Cooldown } from '../../src/routing/cooldown.ts';
import { describeEachDriver } from '../helpers/db.ts';

/** The database, with reads of ai_provider_health held until `release()` (to order a race). */
function withHeldHealthReads(db: Db) {
  let release: () => void = () => {};
  let held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let hold = false;
  const wrapped: Db = Object.create(db);
  wrapped.query = (async (sql: string, params?: unknown[]) => {
    const read = /^\s*select[\s\S]*from public\.ai_provider_health/i.test(sql);
    if (read && hold) {
      // Read now (the snapshot), deliver later (after writes that happen meanwhile).
      const result = await db.query(sql, params);
      await held;
      return result;
    }
    return db.query(sql, params);
  }) as Db['query'];
  return {
    db: wrapped,
    holdReads() {
      hold = true;
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

describeEachDriver('cooldown shared through ai_provider_health', (use) => {
  it('a failure recorded while a refresh is in flight is not undone by its older snapshot', async () => {
    const { db } = use();
    await db.query('delete from ai_provider_health');
    const held = withHeldHealthReads(db);
    const cooldown = new Cooldown(held.db, 'prod', { threshold: 1, cooldownMs: 60_000 });
    await cooldown.refresh();
    expect(cooldown.coolingDown().has('openai')).toBe(false);

    held.holdReads();
    const refreshing = cooldown.refresh();
    // Let the read take its snapshot before the failure is written.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await cooldown.failure('openai', 'server_error');
    expect(cooldown.coolingDown().has('openai')).toBe(true);
    held.release();
    await refreshing;

    expect(cooldown.coolingDown().has('openai')).toBe(true);
    // The next refresh reads the written row and agrees.
    await cooldown.refresh();
    expect(cooldown.coolingDown().has('openai')).toBe(true);
  });

  it('a refresh picks up what other replicas wrote', async () => {
    const { db } = use();
    await db.query('delete from ai_provider_health');
    const here = new Cooldown(db, 'prod', { threshold: 1, cooldownMs: 60_000 });
    const elsewhere = new Cooldown(db, 'prod', { threshold: 1, cooldownMs: 60_000 });
    await here.refresh();
    await elsewhere.failure('custom', 'timeout');
    expect(here.coolingDown().has('custom')).toBe(false);
    await here.refresh();
    expect(here.coolingDown().has('custom')).toBe(true);
  });
});
