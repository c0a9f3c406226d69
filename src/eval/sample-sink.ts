import type { GateThresholds } from './gates.ts';
import type { EvalSample } from './sample.ts';
import type { SchemaVariant } from './variants.ts';

/** What an `ai_eval_runs` row says about the run before its samples are known. */
export interface EvalRunHeader {
  runType: string;
  schemaVariant: SchemaVariant;
  triggeredBy: string | null;
  triggerRef: string | null;
  gitSha: string | null;
  thresholds: GateThresholds;
  /** ISO timestamp. */
  startedAt: string;
  metadata: Record<string, unknown>;
}

/** How the run ended: its terminal status and report. */
export interface EvalRunEnding {
  status: 'passed' | 'failed';
  sampleCount: number;
  /** ISO timestamp. */
  finishedAt: string;
  report: unknown;
  metadata: Record<string, unknown>;
}

/**
 * Where judged samples go while the input streams (the SQL script, the database). `add` only
 * buffers; the runner awaits `flush` between chunks, so a sink writes in batches and memory
 * stays bounded. Either `finish` or `abort` is called once at the end.
 */
export interface SampleSink {
  begin(header: EvalRunHeader): Promise<void>;
  add(sample: EvalSample): void;
  /** Writes buffered samples when a batch is full (`force` writes whatever is buffered). */
  flush(force?: boolean): Promise<void>;
  finish(ending: EvalRunEnding): Promise<void>;
  /** Undoes whatever was written; the input was bad. */
  abort(error: Error): Promise<void>;
}

/** The per-sample `ai_eval_samples.metadata`: why a computed outcome is false. */
export function sampleMetadata(sample: EvalSample): Record<string, unknown> {
  return { ...sample.notes };
}
