import { useMemo } from 'preact/hooks';
import type {
  EvalPage,
  EvalRun,
  EvalRunDetail,
  EvalRunSummary,
  EvalTrend,
  FailedGate,
} from '../../contract.ts';
import { ADMIN } from '../api.ts';
import { Chart, type ChartSeries } from '../components/chart.ts';
import { PageHeader, Section } from '../components/page.ts';
import { cursorOf, Pager } from '../components/pager.ts';
import { Badge, Empty, ErrorNote, PlaceholderRows } from '../components/states.ts';
import { dateTime, integer, metric, NONE } from '../format.ts';
import { html } from '../html.ts';
import { BASE, type Location, withQuery } from '../router.ts';
import { useResource } from '../use-resource.ts';

type Metric = EvalTrend['metrics'][number];

const TREND_RUNS = 30;

function GateList({ gates }: { gates: FailedGate[] }) {
  if (gates.length === 0) return html`<span class="muted">none</span>`;
  return html`
    <ul class="gates">
      ${gates.map(
        (gate) => html`
          <li key=${gate.gate}>
            <code>${gate.gate}</code>: ${metric(gate.metric, gate.value)} (threshold ${metric(gate.metric, gate.threshold)})
          </li>
        `,
      )}
    </ul>
  `;
}

function Trend() {
  const { data, error } = useResource<EvalTrend>(
    withQuery(`${ADMIN}/evals/trend`, { runs: String(TREND_RUNS) }),
  );
  const { charts, missing } = useMemo(() => {
    const runs: EvalRunSummary[] = data?.runs ?? [];
    const x = runs.map((run) => Math.floor(Date.parse(run.started_at) / 1000));
    const metrics: Metric[] = data?.metrics ?? [];
    const withValues = metrics.filter((name) => runs.some((run) => run[name] !== null));
    return {
      charts: withValues.map((name) => ({
        name,
        x,
        series: [{ label: 'value', values: runs.map((run) => run[name]) }] as ChartSeries[],
      })),
      missing: metrics.filter((name) => !withValues.includes(name)),
    };
  }, [data]);
  return html`
    <${Section} title=${`Metrics over the last ${TREND_RUNS} runs`} id="evals-trend">
      <${ErrorNote} error=${error} />
      <div class="chart-grid small-charts" aria-busy=${data === undefined}>
        ${
          data
            ? charts.map(
                ({ name, x, series }) => html`
                  <${Chart}
                    key=${name}
                    label=${name.replaceAll('_', ' ')}
                    x=${x}
                    series=${series}
                    height=${130}
                    yMax=${name === 'p95_latency_ms' ? undefined : 1}
                    fromZero=${false}
                    format=${(value: number) => metric(name, value)}
                  />
                `,
              )
            : html`<div class="chart-placeholder"></div>`
        }
      </div>
      ${
        missing.length > 0
          ? html`<p class="muted small">No values yet for ${missing.map((name) => name.replaceAll('_', ' ')).join(', ')}: the evaluated records do not carry them.</p>`
          : null
      }
    <//>
  `;
}

function RunDetail({ runId }: { runId: string }) {
  const { data, error, loading } = useResource<EvalRunDetail>(
    `${ADMIN}/evals/${encodeURIComponent(runId)}`,
  );
  const run = loading ? undefined : data;
  return html`
    <${Section} title=${`Run #${runId}`} id="evals-run">
      <${ErrorNote} error=${error} />
      ${
        run
          ? html`
              <dl class="fields">
                <div><dt>Verdict</dt><dd><${Badge} value=${run.status} /></dd></div>
                <div><dt>Type</dt><dd>${run.run_type}</dd></div>
                <div><dt>Schema variant</dt><dd>${run.schema_variant}</dd></div>
                <div><dt>Samples</dt><dd>${integer(run.sample_count)}</dd></div>
                <div><dt>Started</dt><dd>${dateTime(run.started_at)}</dd></div>
                <div><dt>Finished</dt><dd>${dateTime(run.finished_at)}</dd></div>
                <div><dt>Triggered by</dt><dd>${run.triggered_by ?? NONE}</dd></div>
                <div><dt>Commit</dt><dd><code>${run.git_sha ?? NONE}</code></dd></div>
              </dl>
              <h3>Failed gates</h3>
              <${GateList} gates=${run.failed_gates} />
              <details class="raw">
                <summary>Thresholds</summary>
                <pre tabindex="0">${JSON.stringify(run.thresholds, null, 2)}</pre>
              </details>
            `
          : error
            ? null
            : html`<p class="muted">Loading run #${runId}…</p>`
      }
    <//>
  `;
}

function RunRow({ run, location }: { run: EvalRun; location: Location }) {
  const href = withQuery(`${BASE}/evals`, {
    cursor: location.query.get('cursor') ?? undefined,
    prev: location.query.get('prev') ?? undefined,
    run: String(run.run_id),
  });
  return html`
    <tr aria-current=${location.query.get('run') === String(run.run_id) ? 'true' : undefined}>
      <td><a href=${href}>#${run.run_id}</a></td>
      <td class="nowrap">${dateTime(run.started_at)}</td>
      <td>${run.run_type}</td>
      <td>${run.schema_variant}</td>
      <td class="number">${integer(run.sample_count)}</td>
      <td><${Badge} value=${run.status} /></td>
      <td><${GateList} gates=${run.failed_gates} /></td>
    </tr>
  `;
}

/**
 * Offline eval runs and their release-gate verdicts: how each metric moved over the latest
 * runs, every run with the gates it failed, and one run in full.
 */
export function EvalsPage({ location }: { location: Location }) {
  const cursor = cursorOf(location);
  const { data, error, loading } = useResource<EvalPage>(withQuery(`${ADMIN}/evals`, { cursor }));
  const runs = loading ? undefined : data?.data;
  const selected = location.query.get('run');
  const none = runs !== undefined && runs.length === 0 && !cursor;

  return html`
    <${PageHeader} title="Evals" />
    <${ErrorNote} error=${error} />
    ${
      none
        ? html`<${Empty}>No eval runs yet: run <code>genloop eval nightly</code>, or <code>genloop eval run … --ingest</code> in CI.<//>`
        : html`<${Trend} />`
    }
    ${selected ? html`<${RunDetail} key=${selected} runId=${selected} />` : null}
    <${Section} title="Runs" id="evals-runs">
      <div class="table-wrap">
        <table aria-busy=${loading}>
          <thead>
            <tr>
              <th scope="col">Run</th><th scope="col">Started</th><th scope="col">Type</th>
              <th scope="col">Variant</th><th scope="col" class="number">Samples</th>
              <th scope="col">Verdict</th><th scope="col">Failed gates</th>
            </tr>
          </thead>
          <tbody>
            ${
              runs
                ? runs.map(
                    (run) => html`<${RunRow} key=${run.run_id} run=${run} location=${location} />`,
                  )
                : error
                  ? null
                  : html`<${PlaceholderRows} columns=${7} rows=${5} />`
            }
          </tbody>
        </table>
      </div>
      <${Pager} location=${location} nextCursor=${data?.next_cursor} label="Eval run pages" />
    <//>
  `;
}
