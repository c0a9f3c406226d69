import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EvalSample } from './sample.ts';
import type { EvalRunEnding, EvalRunHeader, SampleSink } from './sample-sink.ts';
import { sampleMetadata } from './sample-sink.ts';
import { sqlJsonb, sqlLiteral } from './sql-literal.ts';

/** Rows per `insert ... values` statement in the script. */
const ROWS_PER_STATEMENT = 500;

const RUN_ID = `currval(pg_get_serial_sequence('public.ai_eval_runs', 'id'))`;

const SAMPLE_COLUMNS = [
  ['record_id', 'text'],
  ['record_created_at', 'timestamptz'],
  ['schema_valid', 'boolean'],
  ['patch_apply_success', 'boolean'],
  ['edit_after_generate', 'boolean'],
  ['publish_conversion', 'boolean'],
  ['safety_compliant', 'boolean'],
  ['fallback_used', 'boolean'],
  ['latency_ms', 'integer'],
  ['requested_provider', 'text'],
  ['selected_provider', 'text'],
  ['route_strategy', 'text'],
  ['metadata', 'jsonb'],
] as const;

/**
 * Writes one SQL script that ingests the run when pasted into the Supabase SQL editor (or run
 * with `psql -v ON_ERROR_STOP=1 -f`): `begin`; insert the run as `running`; insert the samples
 * in multi-row batches, their `run_id` being the session's `currval` of the runs' identity;
 * set the terminal status and report; `commit`; then show the run's summary row.
 *
 * The script is written to a temporary file beside the target and renamed at the end, so a run
 * that stops on bad input never leaves a half script behind.
 */
export class SqlScriptSink implements SampleSink {
  readonly #path: string;
  readonly #temporaryPath: string;
  #stream: WriteStream | undefined;
  #rows: string[] = [];

  constructor(path: string) {
    this.#path = path;
    this.#temporaryPath = `${path}.${process.pid}.partial`;
  }

  async begin(header: EvalRunHeader): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
    this.#stream = createWriteStream(this.#temporaryPath, { encoding: 'utf8' });
    await once(this.#stream, 'open');
    await this.#write(
      [
        `-- genloop eval run: ${header.schemaVariant} run (${header.runType}) started ${header.startedAt}.`,
        '-- Paste into the Supabase SQL editor, or: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f <this file>',
        '-- One transaction: the run and all its samples are written together, or nothing is.',
        'begin;',
        '',
        'insert into public.ai_eval_runs',
        '  (run_type, schema_variant, triggered_by, trigger_ref, git_sha, thresholds, status, metadata, started_at)',
        `values (${[
          sqlLiteral(header.runType),
          sqlLiteral(header.schemaVariant),
          sqlLiteral(header.triggeredBy),
          sqlLiteral(header.triggerRef),
          sqlLiteral(header.gitSha),
          sqlJsonb(header.thresholds),
          `'running'`,
          sqlJsonb(header.metadata),
          `${sqlLiteral(header.startedAt)}::timestamptz`,
        ].join(', ')});`,
        '',
        '',
      ].join('\n'),
    );
  }

  add(sample: EvalSample): void {
    this.#rows.push(
      `  (${[
        sqlLiteral(sample.record_id),
        sqlLiteral(sample.record_created_at),
        sqlLiteral(sample.schema_valid),
        sqlLiteral(sample.patch_apply_success),
        sqlLiteral(sample.edit_after_generate),
        sqlLiteral(sample.publish_conversion),
        sqlLiteral(sample.safety_compliant),
        sqlLiteral(sample.fallback_used),
        sqlLiteral(sample.latency_ms),
        sqlLiteral(sample.requested_provider),
        sqlLiteral(sample.selected_provider),
        sqlLiteral(sample.route_strategy),
        sqlLiteral(JSON.stringify(sampleMetadata(sample))),
      ].join(', ')})`,
    );
  }

  async flush(force = false): Promise<void> {
    while (this.#rows.length >= ROWS_PER_STATEMENT || (force && this.#rows.length > 0)) {
      const rows = this.#rows.splice(0, ROWS_PER_STATEMENT);
      await this.#write(insertStatement(rows));
    }
  }

  async finish(ending: EvalRunEnding): Promise<void> {
    await this.flush(true);
    await this.#write(
      [
        'update public.ai_eval_runs',
        `set status = ${sqlLiteral(ending.status)},`,
        `    sample_count = ${sqlLiteral(ending.sampleCount)},`,
        `    report = ${sqlJsonb(ending.report)},`,
        `    metadata = metadata || ${sqlJsonb(ending.metadata)},`,
        `    finished_at = ${sqlLiteral(ending.finishedAt)}::timestamptz`,
        `where id = ${RUN_ID};`,
        '',
        'commit;',
        '',
        `select * from public.ai_eval_run_summary_v1 where run_id = ${RUN_ID};`,
        '',
      ].join('\n'),
    );
    const stream = this.#stream!;
    stream.end();
    await once(stream, 'finish');
    await rename(this.#temporaryPath, this.#path);
  }

  async abort(): Promise<void> {
    this.#rows = [];
    const stream = this.#stream;
    if (stream && !stream.closed) {
      const closed = once(stream, 'close').catch(() => {});
      stream.destroy();
      await closed;
    }
    await rm(this.#temporaryPath, { force: true });
  }

  async #write(text: string): Promise<void> {
    const stream = this.#stream!;
    if (!stream.write(text)) await once(stream, 'drain');
  }
}

function insertStatement(rows: string[]): string {
  const names = SAMPLE_COLUMNS.map(([name]) => name);
  const casts = SAMPLE_COLUMNS.map(([name, type]) => `v.${name}::${type}`);
  return [
    'insert into public.ai_eval_samples',
    `  (run_id, ${names.join(', ')})`,
    `select ${RUN_ID}, ${casts.join(', ')}`,
    'from (values',
    rows.join(',\n'),
    `) as v(${names.join(', ')});`,
    '',
    '',
  ].join('\n');
}
