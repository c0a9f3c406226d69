import type { Queryable } from '../db/types.ts';
import type { EvalSample } from './sample.ts';
import type { EvalRunEnding, EvalRunHeader, SampleSink } from './sample-sink.ts';
import { sampleMetadata } from './sample-sink.ts';

/** Samples per insert statement (13 arrays of this length in one round trip). */
const SAMPLES_PER_STATEMENT = 2_000;

/**
 * Writes the run straight into the database, inside the caller's transaction: the run row
 * (status `running`) at `begin`, the samples in `unnest($n::type[], ...)` batches, and the
 * terminal status with the report at `finish`. The deferred trigger on `ai_eval_runs` checks
 * at commit that a passed or failed run has samples.
 */
export class DbSampleSink implements SampleSink {
  readonly #tx: Queryable;
  #runId: number | undefined;
  #buffer: EvalSample[] = [];

  constructor(tx: Queryable) {
    this.#tx = tx;
  }

  /** The `ai_eval_runs.id` of this run, once begun. */
  get runId(): number | undefined {
    return this.#runId;
  }

  async begin(header: EvalRunHeader): Promise<void> {
    const { rows } = await this.#tx.query<{ id: number }>(
      `insert into public.ai_eval_runs
         (run_type, schema_variant, triggered_by, trigger_ref, git_sha, thresholds, status, metadata, started_at)
       values ($1, $2, $3, $4, $5, $6::jsonb, 'running', $7::jsonb, $8::timestamptz)
       returning id`,
      [
        header.runType,
        header.schemaVariant,
        header.triggeredBy,
        header.triggerRef,
        header.gitSha,
        JSON.stringify(header.thresholds),
        JSON.stringify(header.metadata),
        header.startedAt,
      ],
    );
    this.#runId = Number(rows[0]!.id);
  }

  add(sample: EvalSample): void {
    this.#buffer.push(sample);
  }

  async flush(force = false): Promise<void> {
    while (this.#buffer.length >= SAMPLES_PER_STATEMENT || (force && this.#buffer.length > 0)) {
      await insertSamples(this.#tx, this.#runId!, this.#buffer.splice(0, SAMPLES_PER_STATEMENT));
    }
  }

  async finish(ending: EvalRunEnding): Promise<void> {
    await this.flush(true);
    await this.#tx.query(
      `update public.ai_eval_runs
          set status = $2, sample_count = $3, report = $4::jsonb,
              metadata = metadata || $5::jsonb, finished_at = $6::timestamptz
        where id = $1`,
      [
        this.#runId,
        ending.status,
        ending.sampleCount,
        JSON.stringify(ending.report),
        JSON.stringify(ending.metadata),
        ending.finishedAt,
      ],
    );
  }

  async abort(): Promise<void> {
    // The caller rolls the transaction back; nothing written here survives.
    this.#buffer = [];
  }
}

/** One round trip for many samples: one array parameter per column, zipped by `unnest`. */
export async function insertSamples(
  tx: Queryable,
  runId: number,
  samples: readonly EvalSample[],
): Promise<void> {
  if (samples.length === 0) return;
  const column = <K extends keyof EvalSample>(key: K) => samples.map((sample) => sample[key]);
  await tx.query(
    `insert into public.ai_eval_samples
       (run_id, record_id, record_created_at, schema_valid, patch_apply_success,
        edit_after_generate, publish_conversion, safety_compliant, fallback_used, latency_ms,
        requested_provider, selected_provider, route_strategy, metadata)
     select $1, *
       from unnest($2::text[], $3::timestamptz[], $4::boolean[], $5::boolean[], $6::boolean[],
                   $7::boolean[], $8::boolean[], $9::boolean[], $10::integer[], $11::text[],
                   $12::text[], $13::text[], $14::jsonb[])`,
    [
      runId,
      column('record_id'),
      column('record_created_at'),
      column('schema_valid'),
      column('patch_apply_success'),
      column('edit_after_generate'),
      column('publish_conversion'),
      column('safety_compliant'),
      column('fallback_used'),
      column('latency_ms'),
      column('requested_provider'),
      column('selected_provider'),
      column('route_strategy'),
      samples.map((sample) => JSON.stringify(sampleMetadata(sample))),
    ],
  );
}
