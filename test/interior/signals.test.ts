import { expect, it } from 'vitest';
import { PredictionSignals } from '../../src/recipes/interior/signals.ts';
import { describeEachDriver } from '../helpers/db.ts';

/** Resolves with 'woken' or 'timeout', whichever comes first. */
function race(wait: Promise<void>, ms: number): Promise<'woken' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    wait.then(() => 'woken' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describeEachDriver('prediction signals (webhook → waiting worker)', (use) => {
  it('a notify wakes the waiter of that prediction only', async () => {
    const signals = new PredictionSignals(use().db);
    const waiting = signals.wait('p_a', 60_000);
    const other = signals.wait('p_b', 50);
    await signals.notify('p_a');
    expect(await race(waiting, 10_000)).toBe('woken');
    // p_b is released by its own (short) timeout, not by p_a's signal.
    await other;
  });

  it('a signal that came before the wait is not lost', async () => {
    const signals = new PredictionSignals(use().db);
    await signals.notify('p_early');
    expect(await race(signals.wait('p_early', 60_000), 10_000)).toBe('woken');
  });

  it('a signal reaches another replica through pg_notify', async () => {
    const { db } = use();
    const here = new PredictionSignals(db);
    const there = new PredictionSignals(db);
    await there.start();
    try {
      const waiting = there.wait('p_remote', 60_000);
      await here.notify('p_remote');
      expect(await race(waiting, 10_000)).toBe('woken');
    } finally {
      await there.stop();
    }
  });

  it('an aborted wait rejects with the reason', async () => {
    const signals = new PredictionSignals(use().db);
    const controller = new AbortController();
    const waiting = signals.wait('p_abort', 60_000, controller.signal);
    controller.abort(new Error('lease lost'));
    await expect(waiting).rejects.toThrow('lease lost');
  });
});
