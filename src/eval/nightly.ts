import { join } from 'node:path';
import type { Db } from '../db/types.ts';
import { type ArtifactPaths, artifactPaths, writeArtifacts } from './artifacts.ts';
import { type ExportResult, exportEvalRecords } from './export.ts';
import type { GateThresholds } from './gates.ts';
import { runEvalAndIngest } from './ingest.ts';
import { type EvalReport, EXIT_GATE_FAILED, EXIT_PASSED } from './report.ts';
import type { SchemaVariant } from './variants.ts';

export interface NightlyOptions {
  days: number;
  limit: number;
  gates: GateThresholds;
  outDir: string;
  schemaVariant: SchemaVariant;
  minSamples: number;
  runType: string;
  triggeredBy: string | null;
  triggerRef: string | null;
  gitSha: string | null;
  onProgress?: (records: number) => void;
}

export interface NightlyResult {
  exported: ExportResult;
  recordsPath: string;
  artifacts: ArtifactPaths;
  /** Undefined when the window held no records (nothing to evaluate). */
  report: EvalReport | undefined;
  /** 0 (passed, inconclusive or nothing to do) or 2 (a gate failed with enough samples). */
  exitCode: number;
  note: string | null;
}

/**
 * The daily eval ingestion (docs/runbook.md, section 5): export recent generations → evaluate →
 * ingest the run directly (no SQL script to paste, so nothing can be ingested twice). Hard gating
 * is skipped below `minSamples`: the run is still ingested and the artifacts written, and the
 * exit code is 0.
 */
export async function runNightly(db: Db, options: NightlyOptions): Promise<NightlyResult> {
  const recordsPath = join(options.outDir, 'recent_eval_records.jsonl');
  const artifacts = artifactPaths(join(options.outDir, 'eval_run_report.json'));
  const exported = await exportEvalRecords(db, {
    days: options.days,
    limit: options.limit,
    output: recordsPath,
    schemaVariant: options.schemaVariant,
  });
  if (exported.count === 0) {
    return {
      exported,
      recordsPath,
      artifacts,
      report: undefined,
      exitCode: EXIT_PASSED,
      note: `no ${options.schemaVariant} generations in the last ${options.days} day(s); nothing to evaluate`,
    };
  }
  const report = await runEvalAndIngest(db, {
    input: recordsPath,
    gates: options.gates,
    schemaVariant: options.schemaVariant,
    minSamples: options.minSamples,
    runType: options.runType,
    triggeredBy: options.triggeredBy,
    triggerRef: options.triggerRef,
    gitSha: options.gitSha,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await writeArtifacts(report, artifacts);
  const inconclusive = report.status === 'inconclusive';
  return {
    exported,
    recordsPath,
    artifacts,
    report,
    exitCode: report.status === 'failed' ? EXIT_GATE_FAILED : EXIT_PASSED,
    note: inconclusive ? `${report.note}; hard gating skipped (exit 0)` : null,
  };
}
