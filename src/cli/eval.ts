import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Db } from '../db/types.ts';
import { artifactPaths, writeArtifacts } from '../eval/artifacts.ts';
import { GATE_NAMES, loadGatesFile, parseGates } from '../eval/gates.ts';
import { detectGitSha } from '../eval/git-sha.ts';
import { METRIC_NAMES } from '../eval/metrics.ts';
import { type EvalReport, EXIT_GATE_FAILED, EXIT_INCONCLUSIVE } from '../eval/report.ts';
import { runEval } from '../eval/run.ts';
import type { SampleSink } from '../eval/sample-sink.ts';
import { SqlScriptSink } from '../eval/sql-script.ts';
import { SCHEMA_VARIANTS, type SchemaVariant } from '../eval/variants.ts';
import { OperatorError, toError } from '../lib/errors.ts';
import { type CliContext, withDb } from './context.ts';
import { formatTable } from './output.ts';

interface RunFlags {
  input: string;
  gates: string;
  report: string;
  sqlOutput?: string;
  ingest?: boolean;
  minSamples: number;
  runType: string;
  schemaVariant?: SchemaVariant;
  triggeredBy?: string;
  triggerRef?: string;
  junit?: string;
  summary?: string;
  threads?: number;
}

/**
 * `genloop eval run|export|ingest|nightly`: offline evals with release gates. Exit codes: 0 pass,
 * 1 bad input or unreachable database, 2 a gate failed, 3 too few samples (inconclusive).
 */
export function registerEvalCommands(program: Command, context: CliContext): void {
  const evalCommand = program
    .command('eval')
    .description('offline evals: metrics, release gates, ingest into ai_eval_runs');

  evalCommand
    .command('run')
    .description('evaluate a JSONL file of records against a gates file')
    .requiredOption('--input <jsonl>', 'records, one JSON object per line')
    .requiredOption('--gates <json>', `gates file: any of ${GATE_NAMES.join(', ')}`)
    .requiredOption('--report <json>', 'where to write the report')
    .option(
      '--sql-output <sql>',
      'also write an SQL script that ingests the run (Supabase SQL editor)',
    )
    .option(
      '--ingest',
      'write the run into ai_eval_runs / ai_eval_samples (DATABASE_URL or embedded)',
    )
    .option('--min-samples <n>', 'fewer samples is inconclusive (exit 3)', positiveInteger, 30)
    .option(
      '--threads <n>',
      'threads that judge records (default: one per core up to 4 for inputs of 32 MiB or more; 1 with --ingest or --sql-output)',
      positiveInteger,
    )
    .option(
      '--run-type <type>',
      'ai_eval_runs.run_type (manual, nightly, canary, ci, ...)',
      runType,
      'manual',
    )
    .addOption(schemaVariantOption())
    .option(
      '--triggered-by <who>',
      'ai_eval_runs.triggered_by (default: github:<event> in Actions, else cli)',
    )
    .option(
      '--trigger-ref <ref>',
      'ai_eval_runs.trigger_ref (default: the Actions run URL when known)',
    )
    .option('--junit <xml>', 'JUnit XML path (default: next to the report, .junit.xml)')
    .option('--summary <md>', 'markdown summary path (default: next to the report, .md)')
    .action(async (flags: RunFlags) => {
      const gates = await loadGatesFile(flags.gates);
      const gitSha = await detectGitSha(context.env);
      const sinks: SampleSink[] = flags.sqlOutput ? [new SqlScriptSink(flags.sqlOutput)] : [];
      const progress = progressPrinter(context);
      const options = {
        input: flags.input,
        gates,
        schemaVariant: flags.schemaVariant,
        minSamples: flags.minSamples,
        runType: flags.runType,
        triggeredBy: flags.triggeredBy ?? defaultTriggeredBy(context.env),
        triggerRef: flags.triggerRef ?? defaultTriggerRef(context.env),
        gitSha,
        sinks,
        onProgress: progress.update,
        threads: flags.threads,
      };
      let report: EvalReport;
      try {
        report = flags.ingest
          ? await withEvalDb(context, async (db) =>
              (await import('../eval/ingest.ts')).runEvalAndIngest(db, options),
            )
          : await runEval(options);
      } finally {
        progress.done();
      }
      const paths = artifactPaths(flags.report, flags.junit, flags.summary);
      await writeArtifacts(report, paths);
      printReport(context, report);
      context.stdout(
        `report: ${paths.report}\njunit: ${paths.junit}\nsummary: ${paths.summary}\n${flags.sqlOutput ? `sql: ${flags.sqlOutput}\n` : ''}`,
      );
      exitFor(report);
    });

  evalCommand
    .command('export')
    .description('export recent generations from ai_training_examples as eval JSONL')
    .option('--days <n>', 'window in days (fractions allowed)', positiveNumber, 1)
    .option('--limit <n>', 'at most this many records, newest first', positiveInteger, 5000)
    .requiredOption('--output <jsonl>', 'where to write the records')
    .addOption(
      new Option('--schema-variant <variant>', 'only this variant (default: all)').choices(
        SCHEMA_VARIANTS,
      ),
    )
    .action(
      async (flags: {
        days: number;
        limit: number;
        output: string;
        schemaVariant?: SchemaVariant;
      }) => {
        const { describeExport, exportEvalRecords } = await import('../eval/export.ts');
        const result = await withEvalDb(context, (db) =>
          exportEvalRecords(db, {
            days: flags.days,
            limit: flags.limit,
            output: flags.output,
            schemaVariant: flags.schemaVariant,
          }),
        );
        context.stdout(describeExport(result, flags.output));
      },
    );

  evalCommand
    .command('ingest')
    .description(
      'ingest a run evaluated earlier: re-evaluates --input and checks it matches --report',
    )
    .requiredOption('--report <json>', 'the report `eval run` wrote for this input')
    .requiredOption('--input <jsonl>', 'the records that report was computed from')
    .action(async (flags: { report: string; input: string }) => {
      const previous = await readReport(flags.report);
      const { runEvalAndIngest } = await import('../eval/ingest.ts');
      const progress = progressPrinter(context);
      let report: EvalReport;
      try {
        report = await withEvalDb(context, (db) =>
          runEvalAndIngest(db, {
            input: flags.input,
            gates: previous.thresholds,
            schemaVariant: previous.schema_variant,
            minSamples: previous.min_samples,
            runType: previous.run_type,
            triggeredBy: previous.triggered_by,
            triggerRef: previous.trigger_ref,
            gitSha: previous.git_sha,
            onProgress: progress.update,
            beforeCommit: (current) => assertSameMetrics(previous, current, flags),
          }),
        );
      } finally {
        progress.done();
      }
      context.stdout(
        `ingested ${report.sample_count} samples as ai_eval_runs.id = ${report.run_id}\n`,
      );
      printReport(context, report);
      exitFor(report);
    });

  evalCommand
    .command('nightly')
    .description('export → eval → ingest; gates are not enforced under --min-samples (exit 0)')
    .option('--days <n>', 'window in days', positiveNumber, 1)
    .option('--limit <n>', 'at most this many records', positiveInteger, 5000)
    .option('--gates <json>', 'gates file', 'evals/gates.json')
    .option('--out-dir <dir>', 'artifacts folder', 'artifacts/evals')
    .addOption(schemaVariantOption().default('sitecraft'))
    .option('--min-samples <n>', 'below this, gating is skipped', positiveInteger, 30)
    .option('--run-type <type>', 'ai_eval_runs.run_type', runType, 'nightly')
    .option('--triggered-by <who>', 'ai_eval_runs.triggered_by')
    .action(
      async (flags: {
        days: number;
        limit: number;
        gates: string;
        outDir: string;
        schemaVariant: SchemaVariant;
        minSamples: number;
        runType: string;
        triggeredBy?: string;
      }) => {
        const gates = await loadGatesFile(flags.gates);
        const gitSha = await detectGitSha(context.env);
        const { runNightly } = await import('../eval/nightly.ts');
        const progress = progressPrinter(context);
        const result = await withEvalDb(context, (db) =>
          runNightly(db, {
            days: flags.days,
            limit: flags.limit,
            gates,
            outDir: flags.outDir,
            schemaVariant: flags.schemaVariant,
            minSamples: flags.minSamples,
            runType: flags.runType,
            triggeredBy: flags.triggeredBy ?? defaultTriggeredBy(context.env),
            triggerRef: defaultTriggerRef(context.env),
            gitSha,
            onProgress: progress.update,
          }),
        ).finally(progress.done);
        context.stdout(`exported ${result.exported.count} record(s) to ${result.recordsPath}\n`);
        if (result.report) {
          printReport(context, result.report);
          context.stdout(
            `ingested as ai_eval_runs.id = ${result.report.run_id}\nreport: ${result.artifacts.report}\njunit: ${result.artifacts.junit}\nsummary: ${result.artifacts.summary}\n`,
          );
        }
        if (result.note) context.stdout(`note: ${result.note}\n`);
        if (result.exitCode === EXIT_GATE_FAILED && result.report) {
          throw new OperatorError(gateFailureMessage(result.report), {
            exitCode: EXIT_GATE_FAILED,
          });
        }
      },
    );
}

function schemaVariantOption(): Option {
  return new Option(
    '--schema-variant <variant>',
    'records of another variant are bad input (default: the first record’s)',
  ).choices(SCHEMA_VARIANTS);
}

/** The eval commands' database: the configured one, once its eval tables are known to exist. */
function withEvalDb<T>(context: CliContext, fn: (db: Db) => Promise<T>): Promise<T> {
  return withDb(
    context,
    async (db) => {
      const { rows } = await db.query<{ runs: string | null; examples: string | null }>(
        `select to_regclass('public.ai_eval_runs')::text as runs,
                to_regclass('public.ai_training_examples')::text as examples`,
      );
      if (!rows[0]?.runs || !rows[0]?.examples) {
        throw new OperatorError(
          'the database has no ai_eval_runs or ai_training_examples table; run genloop db migrate first.',
        );
      }
      return fn(db);
    },
    { applicationName: 'genloop eval' },
  );
}

function exitFor(report: EvalReport): void {
  if (report.status === 'inconclusive') {
    throw new OperatorError(`inconclusive: ${report.note}`, { exitCode: EXIT_INCONCLUSIVE });
  }
  if (report.status === 'failed') {
    throw new OperatorError(gateFailureMessage(report), { exitCode: EXIT_GATE_FAILED });
  }
}

function gateFailureMessage(report: EvalReport): string {
  const failed = report.gates.filter((gate) => !gate.passed);
  return `${failed.length} gate(s) failed: ${failed.map((gate) => `${gate.name} (${gate.reason})`).join('; ')}`;
}

function printReport(context: CliContext, report: EvalReport): void {
  context.stdout(
    `eval ${report.schema_variant}: ${report.sample_count} samples, ${report.status}${report.run_id === null ? '' : ` (run ${report.run_id})`}\n`,
  );
  const rows = METRIC_NAMES.map((metric) => {
    const gate = report.gates.find((candidate) => candidate.metric === metric);
    return {
      metric,
      value: report.metrics[metric] ?? 'n/a',
      observed:
        metric === 'p95_latency_ms' ? report.latency_ms.count : report.counts[metric].denominator,
      gate: gate ? `${gate.kind} ${gate.threshold}` : '',
      result: gate ? (gate.passed ? 'pass' : 'FAIL') : '',
    };
  });
  context.stdout(`${formatTable(rows)}\n`);
  const latency = report.latency_ms;
  context.stdout(
    `latency ms: p50 ${latency.p50 ?? 'n/a'}, p95 ${latency.p95 ?? 'n/a'}, p99 ${latency.p99 ?? 'n/a'}\n`,
  );
}

async function readReport(path: string): Promise<EvalReport> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new OperatorError(`cannot read report ${path}: ${toError(error).message}`, {
      cause: error,
    });
  }
  const report = parsed as Partial<EvalReport> | null;
  if (
    report === null ||
    typeof report !== 'object' ||
    report.report_version !== 1 ||
    !SCHEMA_VARIANTS.includes(report.schema_variant as SchemaVariant) ||
    typeof report.run_type !== 'string' ||
    typeof report.min_samples !== 'number'
  ) {
    throw new OperatorError(
      `${path} is not a report written by genloop eval run (report_version 1).`,
    );
  }
  try {
    parseGates(report.thresholds ?? {});
  } catch (error) {
    throw new OperatorError(`${path}: thresholds: ${toError(error).message}`, { cause: error });
  }
  return report as EvalReport;
}

function assertSameMetrics(
  previous: EvalReport,
  current: EvalReport,
  flags: { report: string; input: string },
): void {
  for (const metric of METRIC_NAMES) {
    if (
      (previous.metrics?.[metric] ?? null) !== current.metrics[metric] ||
      previous.sample_count !== current.sample_count
    ) {
      throw new OperatorError(
        `${flags.input} does not give the metrics in ${flags.report} (${metric}: ${previous.metrics?.[metric]} in the report, ${current.metrics[metric]} now; samples ${previous.sample_count} vs ${current.sample_count}); nothing was ingested.`,
      );
    }
  }
}

function progressPrinter(context: CliContext) {
  let last = 0;
  let shown = false;
  return {
    update(records: number) {
      if (!context.interactive) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      context.stderr(`\reval: ${records.toLocaleString('en-US')} records`);
    },
    done() {
      if (shown) context.stderr('\r\u001b[K');
    },
  };
}

function defaultTriggeredBy(env: NodeJS.ProcessEnv): string {
  return env.GITHUB_ACTIONS === 'true' && env.GITHUB_EVENT_NAME
    ? `github:${env.GITHUB_EVENT_NAME}`
    : 'cli';
}

function defaultTriggerRef(env: NodeJS.ProcessEnv): string | null {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
  return GITHUB_SERVER_URL && GITHUB_REPOSITORY && GITHUB_RUN_ID
    ? `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`
    : null;
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('give a whole number >= 1.');
  }
  return Number(value);
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError('give a number > 0.');
  }
  return number;
}

function runType(value: string): string {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(value)) {
    throw new InvalidArgumentError(
      'use lower-case letters, digits, _ or - (manual, nightly, canary).',
    );
  }
  return value;
}
