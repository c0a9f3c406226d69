import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { JsonArrayParam } from '../../src/db/params.ts';
import type { Db, Queryable } from '../../src/db/types.ts';
import { insertTelemetry } from '../../src/sql/insert-telemetry.ts';
import { telemetryRows } from '../../src/telemetry/rows.ts';
import { TelemetryWriter, writeTelemetry } from '../../src/telemetry/writer.ts';
import { describeEachDriver } from '../helpers/db.ts';

/** One gateway generation that fell back from openai to custom: a training row, two attempts. */
function fallbackGeneration(latencyMs = 40) {
  const requestId = randomUUID();
  const attempt = (attemptNo: number, provider: 'openai' | 'custom', ok: boolean) => ({
    attemptNo,
    provider,
    model: 'gpt-4o-mini',
    status: ok ? ('succeeded' as const) : ('failed' as const),
    errorClass: ok ? null : ('server_error' as const),
    httpStatus: ok ? 200 : 503,
    latencyMs: 15,
    ttfbMs: null,
    retryAfterMs: null,
    error: ok ? null : { message: 'upstream unavailable' },
    createdAt: new Date(),
  });
  return telemetryRows({
    metadata: {
      requestId,
      routeStrategy: 'fallback',
      requestedProvider: null,
      selectedProvider: 'custom',
      fallbackProvider: 'custom',
      fallbackUsed: true,
      latencyMs,
      promptTemplateVersion: 'gateway-v1',
      model: 'gpt-4o-mini',
    },
    recipe: 'gateway',
    status: 'succeeded',
    userId: null,
    attempts: [attempt(1, 'openai', false), attempt(2, 'custom', true)],
  });
}

async function counts(db: Queryable, requestIds: readonly string[]) {
  const { rows } = await db.query<{ examples: number; attempts: number }>(
    `select (select count(*)::int from ai_training_examples where request_id = any($1::uuid[])) as examples,
            (select count(*)::int from ai_provider_attempts where request_id = any($1::uuid[])) as attempts`,
    [requestIds],
  );
  return rows[0];
}

/** Fallbacks to custom counted by the hourly rollup (kept by the training rows' trigger). */
async function customFallbacks(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select coalesce(sum(fallback_count), 0)::int as n from ai_training_examples_hourly
      where selected_provider = 'custom' and route_strategy = 'fallback'`,
  );
  return rows[0]?.n ?? 0;
}

describeEachDriver('writing telemetry batches', (use) => {
  it('one call writes every training row and attempt; writing the same batch again adds nothing', async () => {
    const { db } = use();
    const batch = [fallbackGeneration(), fallbackGeneration(), fallbackGeneration()];
    const ids = batch.map((item) => item.example.request_id);
    const before = await customFallbacks(db);

    await writeTelemetry(db, batch);
    expect(await counts(db, ids)).toEqual({ examples: 3, attempts: 6 });

    // A flush retried after a lost connection (its commit unknown) must not duplicate rows.
    await writeTelemetry(db, batch);
    expect(await counts(db, ids)).toEqual({ examples: 3, attempts: 6 });

    const { rows } = await db.query<{ attempt_no: number; provider: string; error_class: string }>(
      'select attempt_no, provider, error_class from ai_provider_attempts where request_id = $1 order by attempt_no',
      [ids[0]],
    );
    expect(rows).toEqual([
      { attempt_no: 1, provider: 'openai', error_class: 'server_error' },
      { attempt_no: 2, provider: 'custom', error_class: null },
    ]);

    // The rollup trigger fired for the training rows, once: the retry inserted none.
    expect(await customFallbacks(db)).toEqual(before + 3);
  });

  it('a generation whose training row Postgres rejects leaves none of its attempts behind', async () => {
    const { db } = use();
    const good = fallbackGeneration();
    // Breaks contract rule 3 (latency_ms >= 0): Postgres rejects the training row.
    const bad = fallbackGeneration(-1);

    await expect(writeTelemetry(db, [bad])).rejects.toThrow();
    expect(await counts(db, [bad.example.request_id])).toEqual({ examples: 0, attempts: 0 });

    // Through the writer, the batch falls back to one generation at a time: the good one is
    // written whole, the bad one is dropped whole.
    const writer = new TelemetryWriter(db);
    writer.record(good);
    writer.record(bad);
    await writer.close();
    expect(writer.written).toBe(1);
    expect(writer.dropped).toBe(1);
    expect(await counts(db, [good.example.request_id])).toEqual({ examples: 1, attempts: 2 });
    expect(await counts(db, [bad.example.request_id])).toEqual({ examples: 0, attempts: 0 });
  });

  it('writes a batch of training rows alone, or of attempts alone', async () => {
    const { db } = use();
    const examplesOnly = fallbackGeneration();
    const attemptsOnly = fallbackGeneration();

    await insertTelemetry(db, [examplesOnly.example], []);
    await insertTelemetry(db, [], attemptsOnly.attempts);
    await insertTelemetry(db, [], []);

    expect(await counts(db, [examplesOnly.example.request_id])).toEqual({
      examples: 1,
      attempts: 0,
    });
    expect(await counts(db, [attemptsOnly.example.request_id])).toEqual({
      examples: 0,
      attempts: 2,
    });
  });

  it('rows that arrive while a batch is written wait for the next interval; flush and close write them all', async () => {
    const { db } = use();
    // Each statement waits until the test lets it through, and records how many training rows
    // it carried.
    const statements: number[] = [];
    let release: () => void = () => {};
    const held = () => new Promise<void>((resolve) => (release = resolve));
    let gate = held();
    const slow = new Proxy(db, {
      get(target, property) {
        if (property === 'query') {
          return async (sql: string, params?: unknown[]) => {
            statements.push((params?.[0] as JsonArrayParam | undefined)?.elements.length ?? 0);
            await gate;
            return target.query(sql, params);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Db;
    // An interval no test waits for: only flush(), a full batch and close() write here.
    const writer = new TelemetryWriter(slow, { flushIntervalMs: 600_000, maxBatch: 3 });
    const generations = Array.from({ length: 7 }, () => fallbackGeneration());
    const ids = generations.map((item) => item.example.request_id);

    writer.record(generations[0]!);
    const first = writer.flush();
    await expect.poll(() => statements.length).toBe(1);
    // Arrives while the first batch is being written: not owed by that flush.
    writer.record(generations[1]!);
    release();
    await first;
    expect(statements).toEqual([1]);
    expect(writer.pending).toBe(1);
    expect(await counts(db, ids.slice(0, 2))).toEqual({ examples: 1, attempts: 2 });

    // A flush asked for during a write owes every row buffered when it was asked.
    gate = held();
    const second = writer.flush();
    await expect.poll(() => statements.length).toBe(2);
    writer.record(generations[2]!);
    const third = writer.flush();
    expect(third).toBe(second);
    release();
    gate = Promise.resolve();
    await third;
    expect(statements).toEqual([1, 1, 1]);
    expect(writer.pending).toBe(0);

    // A whole batch does not wait for the interval.
    for (const item of generations.slice(3, 6)) writer.record(item);
    await expect.poll(() => writer.written).toBe(6);
    expect(statements).toEqual([1, 1, 1, 3]);

    writer.record(generations[6]!);
    await writer.close();
    expect(statements).toEqual([1, 1, 1, 3, 1]);
    expect(await counts(db, ids)).toEqual({ examples: 7, attempts: 14 });
  });
});
