import { METRIC_NAMES } from './metrics.ts';
import type { EvalReport } from './report.ts';

/** A short markdown summary for CI (`$GITHUB_STEP_SUMMARY`, PR comments). */
export function markdownSummary(report: EvalReport): string {
  const icon = report.status === 'passed' ? '✅' : report.status === 'failed' ? '❌' : '⚠️';
  const lines = [
    `## ${icon} genloop eval: ${report.status} (${report.schema_variant}, ${report.sample_count} samples)`,
    '',
  ];
  if (report.note) lines.push(`> ${report.note}`, '');
  lines.push('| metric | value | observed | gate | result |', '|---|---|---|---|---|');
  for (const metric of METRIC_NAMES) {
    const value = report.metrics[metric];
    const gate = report.gates.find((candidate) => candidate.metric === metric);
    const observed =
      metric === 'p95_latency_ms'
        ? `${report.latency_ms.count}/${report.sample_count}`
        : `${report.counts[metric].denominator}/${report.sample_count}`;
    const threshold = gate ? `${gate.kind === 'min' ? '≥' : '≤'} ${gate.threshold}` : '';
    const result = gate
      ? gate.passed
        ? 'pass'
        : report.status === 'inconclusive'
          ? 'fail (not enforced)'
          : '**fail**'
      : '';
    lines.push(
      `| ${metric} | ${value === null ? `n/a — ${report.metric_reasons[metric]}` : value} | ${observed} | ${threshold} | ${result} |`,
    );
  }
  const latency = report.latency_ms;
  lines.push(
    '',
    `Latency (ms): p50 ${latency.p50 ?? 'n/a'} · p95 ${latency.p95 ?? 'n/a'} · p99 ${latency.p99 ?? 'n/a'} · max ${latency.max ?? 'n/a'}`,
  );
  if (report.run_id !== null) lines.push('', `Ingested as ai_eval_runs.id = ${report.run_id}.`);
  lines.push('');
  return lines.join('\n');
}
