import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { DbError } from '../../src/db/errors.ts';
import { describeEachDriver } from '../helpers/db.ts';

const valid = () => ({
  source: 'generation',
  status: 'succeeded',
  request_id: randomUUID(),
  requested_provider: null as string | null,
  selected_provider: 'openai' as string | null,
  route_strategy: 'fallback',
  fallback_provider: null as string | null,
  fallback_used: false,
  latency_ms: 120 as number | null,
  prompt_template_version: 'site-v1' as string | null,
});

type Row = ReturnType<typeof valid>;

describeEachDriver('runtime contract rules of ai_training_examples', (use) => {
  const insert = (row: Row) =>
    use().db.query(
      `insert into ai_training_examples
         (source, status, request_id, requested_provider, selected_provider, route_strategy,
          fallback_provider, fallback_used, latency_ms, prompt_template_version)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        row.source,
        row.status,
        row.request_id,
        row.requested_provider,
        row.selected_provider,
        row.route_strategy,
        row.fallback_provider,
        row.fallback_used,
        row.latency_ms,
        row.prompt_template_version,
      ],
    );

  const rejectedBy = async (row: Row, constraint: string) => {
    const error = await insert(row).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DbError);
    expect((error as DbError).code).toBe('23514');
    expect((error as DbError).constraint).toBe(constraint);
  };

  it('accepts a row that obeys all four rules', async () => {
    await insert(valid());
    await insert({
      ...valid(),
      fallback_used: true,
      fallback_provider: 'custom',
      selected_provider: 'custom',
    });
  });

  it('rule 1: a successful generation write needs selected_provider', async () => {
    await rejectedBy(
      { ...valid(), selected_provider: null },
      'ai_training_examples_rule1_selected_provider',
    );
    // A failed attempt may have no selected provider only when nothing was selected.
    await insert({ ...valid(), status: 'failed', selected_provider: null });
  });

  it('rule 2: fallback_used = true needs fallback_provider', async () => {
    await rejectedBy(
      { ...valid(), fallback_used: true, fallback_provider: null },
      'ai_training_examples_rule2_fallback_provider',
    );
  });

  it('rule 3: latency_ms must be >= 0', async () => {
    await rejectedBy({ ...valid(), latency_ms: -1 }, 'ai_training_examples_rule3_latency_ms');
    await insert({ ...valid(), latency_ms: 0 });
    await insert({ ...valid(), latency_ms: null });
  });

  it('rule 4: prompt_template_version must be non-empty', async () => {
    await rejectedBy(
      { ...valid(), prompt_template_version: '' },
      'ai_training_examples_rule4_prompt_template_version',
    );
    await rejectedBy(
      { ...valid(), prompt_template_version: '   ' },
      'ai_training_examples_rule4_prompt_template_version',
    );
    await rejectedBy(
      { ...valid(), prompt_template_version: null },
      'ai_training_examples_runtime_fields_required',
    );
  });

  it('rejects unknown providers and strategies', async () => {
    await rejectedBy(
      { ...valid(), selected_provider: 'anthropic' },
      'ai_training_examples_provider_names_check',
    );
    await rejectedBy(
      { ...valid(), route_strategy: 'random' },
      'ai_training_examples_route_strategy_check',
    );
  });

  it('has the three provider routing indexes', async () => {
    const { rows } = await use().db.query<{ indexname: string; indexdef: string }>(
      `select indexname, indexdef from pg_indexes
        where schemaname = 'public' and tablename = 'ai_training_examples'`,
    );
    const keys = Object.fromEntries(
      rows.map((row) => [row.indexname, row.indexdef.replace(/^.* USING btree /, '')]),
    );
    // Their key columns are fixed; the provider index also carries the columns latency reads need.
    expect(keys).toMatchObject({
      ai_training_examples_selected_provider_created_at_idx:
        '(selected_provider, created_at DESC) INCLUDE (latency_ms, fallback_used, source)',
      ai_training_examples_request_id_idx: '(request_id)',
      ai_training_examples_route_strategy_created_at_idx: '(route_strategy, created_at DESC)',
    });
  });
});
