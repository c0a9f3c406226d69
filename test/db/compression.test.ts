import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { TelemetryWriter } from '../../src/telemetry/writer.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { gatewayTelemetry } from '../helpers/telemetry.ts';

/** The columns whose values genloop has Postgres compress with lz4. */
const LZ4_COLUMNS = [
  'ai_generations.ai_metadata',
  'ai_generations.error',
  'ai_generations.input',
  'ai_generations.output',
  'ai_generations.source_text',
  'ai_provider_attempts.error',
  'ai_response_cache.response',
  'ai_training_examples.error',
  'ai_training_examples.input',
  'ai_training_examples.metadata',
  'ai_training_examples.output',
  'ai_training_examples.prompt',
  'idempotency_keys.response_body',
];

/** About 3 kB of prose: past the size at which Postgres compresses a row. */
const PROSE = Array.from(
  { length: 40 },
  (_, i) => `Sentence ${i} says that chlorophyll absorbs blue and red light in leaf ${i * 7}.`,
).join(' ');

describeEachDriver('compression of large values', (use) => {
  const serverHasLz4 = async () =>
    (
      await use().db.query<{ lz4: boolean }>(
        `select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`,
      )
    ).rows[0]!.lz4;

  it('the large columns of the generation tables use lz4 where the server has it, and only those', async () => {
    const { rows } = await use().db.query<{ name: string }>(
      `select c.relname || '.' || a.attname as name
         from pg_attribute a
         join pg_class c on c.oid = a.attrelid
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and a.attcompression = 'l' and not a.attisdropped`,
    );
    // Sorted here: the server's collation may order '_' and '.' differently.
    expect(rows.map((row) => row.name).sort()).toEqual(
      (await serverHasLz4()) ? [...LZ4_COLUMNS].sort() : [],
    );
  });

  it('a training row past the compression threshold is stored with lz4 and reads back whole', async () => {
    const { db } = use();
    const requestId = randomUUID();
    const cards = Array.from({ length: 10 }, (_, i) => ({
      front: `What does chlorophyll absorb in leaf ${i}?`,
      back: `Mostly blue and red light; it reflects green light, which is why leaf ${i} looks green.`,
    }));
    const writer = new TelemetryWriter(db);
    writer.record(
      gatewayTelemetry(requestId, {
        attempts: [],
        prompt: PROSE,
        input: { messages: [{ role: 'user', content: PROSE }] },
        output: { cards },
      }),
    );
    await writer.close();
    expect(writer.dropped).toBe(0);

    const { rows } = await db.query<{
      prompt: string;
      output: { cards: unknown };
      method: string | null;
    }>(
      `select prompt, output, pg_column_compression(input) as method
         from ai_training_examples where request_id = $1`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.prompt).toBe(PROSE);
    expect(rows[0]!.output.cards).toEqual(cards);
    // The input (the prompt twice over, as messages) is the row's largest value: it is
    // compressed first, with lz4 where the server has it and with pglz where it has not.
    expect(rows[0]!.method).toBe((await serverHasLz4()) ? 'lz4' : 'pglz');
  });
});
