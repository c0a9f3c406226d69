import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { TelemetryWriter } from '../../src/telemetry/writer.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { gatewayTelemetry } from '../helpers/telemetry.ts';

describeEachDriver('telemetry rows with text Postgres cannot store', (use) => {
  it('a NUL or lone surrogate from the caller or the provider costs a character, not the row', async () => {
    const { db } = use();
    const writer = new TelemetryWriter(db);
    const requestId = randomUUID();
    const cleanId = randomUUID();
    const facts = (id: string, content: string) =>
      gatewayTelemetry(id, {
        attempts: [
          {
            attemptNo: 1,
            provider: 'openai',
            model: 'gpt-4o-mini',
            status: 'succeeded',
            errorClass: null,
            httpStatus: 200,
            latencyMs: 11,
            ttfbMs: null,
            retryAfterMs: null,
            error: null,
            createdAt: new Date(),
          },
        ],
        prompt: content,
        input: { messages: [{ role: 'user', content }] },
        output: { content: `answer: ${content}` },
      });
    writer.record(facts(requestId, 'say a\u0000b and x\uD800y'));
    writer.record(facts(cleanId, 'an ordinary prompt'));
    await writer.close();

    expect(writer.dropped).toBe(0);
    const { rows } = await db.query<{
      request_id: string;
      prompt: string;
      input: { messages: Array<{ content: string }> };
      output: { content: string };
    }>(
      'select request_id, prompt, input, output from ai_training_examples where request_id = any($1::uuid[])',
      [[requestId, cleanId]],
    );
    const odd = rows.find((row) => row.request_id === requestId);
    expect(odd?.prompt).toBe('say a\uFFFDb and x\uFFFDy');
    expect(odd?.input.messages[0]?.content).toBe('say a\uFFFDb and x\uFFFDy');
    expect(odd?.output.content).toBe('answer: say a\uFFFDb and x\uFFFDy');
    expect(rows.find((row) => row.request_id === cleanId)?.prompt).toBe('an ordinary prompt');
    const attempts = await db.query<{ n: number }>(
      'select count(*)::int as n from ai_provider_attempts where request_id = any($1::uuid[])',
      [[requestId, cleanId]],
    );
    expect(attempts.rows[0]?.n).toBe(2);
  });

  it('a row that cannot be serialised is dropped alone; the rows around it are written', async () => {
    const { db } = use();
    const writer = new TelemetryWriter(db);
    const row = (input: unknown) => gatewayTelemetry(randomUUID(), { attempts: [], input });
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const rows = [row({ n: 1 }), row(circular), row({ n: 3 })];
    for (const item of rows) writer.record(item);
    await writer.flush();

    expect(writer.dropped).toBe(1);
    expect(writer.pending).toBe(0);
    const { rows: written } = await db.query<{ request_id: string }>(
      'select request_id from ai_training_examples where request_id = any($1::uuid[])',
      [rows.map((item) => item.example.request_id)],
    );
    expect(written.map((item) => item.request_id).sort()).toEqual(
      [rows[0]!.example.request_id, rows[2]!.example.request_id].sort(),
    );

    // The writer is not stuck: the next row goes out with the next flush.
    const next = row({ n: 4 });
    writer.record(next);
    await writer.close();
    const later = await db.query<{ n: number }>(
      'select count(*)::int as n from ai_training_examples where request_id = $1',
      [next.example.request_id],
    );
    expect(later.rows[0]?.n).toBe(1);
  });
});
