import { useMemo } from 'preact/hooks';
import type { Overview, Window } from '../../contract.ts';
import { ADMIN } from '../api.ts';
import { Chart } from '../components/chart.ts';
import { SelectField } from '../components/fields.ts';
import { PageHeader, Section } from '../components/page.ts';
import { Badge, Empty, ErrorNote } from '../components/states.ts';
import { useEnvironments } from '../environments.ts';
import { age, dateTime, decimal, integer, metric, milliseconds, NONE, percent } from '../format.ts';
import { html } from '../html.ts';
import { overviewCharts } from '../overview-series.ts';
import { BASE, type Location, navigate, withQuery } from '../router.ts';
import { useResource } from '../use-resource.ts';
import { SpendPanel } from './spend.ts';

const WINDOWS: { value: Window; label: string }[] = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
];
/** How often the page asks again while it is visible. */
const POLL_MS = 5_000;

const rate = (value: number) => percent(value, 0);

function Stat({ label, value }: { label: string; value: string }) {
  return html`<div class="stat"><dt>${label}</dt><dd>${value}</dd></div>`;
}

/**
 * How generation is going: volume, success, fallback and latency over a window, the providers'
 * cooldowns, the job queue and the latest eval verdict. Refreshes itself every few seconds.
 */
export function OverviewPage({ location }: { location: Location }) {
  const chosenWindow = location.query.get('window');
  const window = WINDOWS.some((entry) => entry.value === chosenWindow)
    ? (chosenWindow as Window)
    : '24h';
  const environments = useEnvironments(location.query.get('environment'));
  const path = withQuery(`${ADMIN}/overview`, {
    window,
    environment: location.query.get('environment') ?? undefined,
  });
  const { data, error } = useResource<Overview>(path, { pollMs: POLL_MS });
  const charts = useMemo(() => (data ? overviewCharts(data) : undefined), [data]);
  const choose = (name: string, value: string) =>
    navigate(
      withQuery(BASE, {
        window: name === 'window' ? value : (location.query.get('window') ?? undefined),
        environment:
          name === 'environment' ? value : (location.query.get('environment') ?? undefined),
      }),
      { replace: true },
    );
  const totals = data?.totals;
  const quiet = totals !== undefined && totals.generations === 0;
  const empty = quiet
    ? 'No generations in this window. Send one through /v1/chat/completions or a product flow.'
    : undefined;
  const x = charts?.x ?? [];
  const cache = data?.cache;
  const noCache =
    cache && cache.generations === 0
      ? `No generations recorded for ${cache.environment} in this window.`
      : undefined;

  return html`
    <${PageHeader} title="Overview">
      <${SelectField}
        id="overview-window"
        label="Window"
        value=${window}
        choices=${WINDOWS}
        onChange=${(value: string) => choose('window', value)}
      />
      <${SelectField}
        id="overview-environment"
        label="Environment"
        value=${environments.value}
        choices=${environments.choices}
        onChange=${(value: string) => choose('environment', value)}
      />
    <//>
    <${ErrorNote} error=${error} />
    <dl class="stats" aria-busy=${data === undefined}>
      <${Stat} label="Generations" value=${integer(totals?.generations)} />
      <${Stat} label="Success rate" value=${percent(totals?.success_rate)} />
      <${Stat} label="Fallback rate" value=${percent(totals?.fallback_rate)} />
      <${Stat} label="p95 latency" value=${milliseconds(totals?.p95_latency_ms)} />
      <${Stat} label=${`Cache hit rate${cache ? ` (${cache.environment})` : ''}`} value=${percent(cache?.hit_rate)} />
    </dl>
    <div class="chart-grid">
      <${Chart} label="Generations per minute" x=${x} series=${charts?.perMinute ?? []} format=${decimal} empty=${empty} />
      <${Chart} label="Success rate" x=${x} series=${charts?.successRate ?? []} format=${rate} yMax=${1} empty=${empty} />
      <${Chart} label="Fallback rate" x=${x} series=${charts?.fallbackRate ?? []} format=${rate} yMax=${1} empty=${empty} />
      <${Chart} label="p95 latency per provider" x=${x} series=${charts?.p95 ?? []} format=${milliseconds} empty=${empty} />
      <${Chart} label="Cache hit rate" x=${x} series=${charts?.cacheHitRate ?? []} format=${rate} yMax=${1} empty=${noCache} />
    </div>
    ${
      cache && cache.generations > 0 && cache.cached === 0
        ? html`<p class="muted small">No answer came from the response cache in ${cache.environment} in this window: a client asks for it with the header <code>x-genloop-cache: exact</code> (or the server caches by default with <code>GENLOOP_CACHE_DEFAULT=exact</code>).</p>`
        : null
    }
    ${data ? html`<p class="muted small">Read from ${data.read_from === 'rollup' ? 'the rollups' : 'the telemetry rows'}, ${dateTime(data.from)} to ${dateTime(data.to)}.</p>` : html`<p class="muted small">\u00a0</p>`}
    <div class="columns">
      <${Section} title="Provider cooldowns" id="overview-cooldowns">
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Provider</th><th scope="col">State</th><th scope="col" class="number">Failures</th><th scope="col">Last error</th></tr></thead>
            <tbody>
              ${(data?.providers ?? []).map(
                (provider) => html`
                  <tr key=${provider.provider}>
                    <th scope="row">${provider.provider}</th>
                    <td>
                      <${Badge} value=${provider.cooling_down ? 'cooling_down' : 'ok'} />
                      ${provider.cooling_down && provider.cooldown_until ? html`<div class="small muted">until ${dateTime(provider.cooldown_until)}</div>` : null}
                    </td>
                    <td class="number" title="failures in a row">${integer(provider.consecutive_failures)}</td>
                    <td>${provider.last_error_class ?? NONE}</td>
                  </tr>
                `,
              )}
            </tbody>
          </table>
        </div>
        ${data && data.providers.length === 0 ? html`<${Empty}>No providers are configured for ${data.environment}: see the <a href=${`${BASE}/providers`}>Providers</a> page.<//>` : null}
      <//>
      <${Section} title="Jobs" id="overview-jobs">
        <dl class="stats compact">
          <${Stat} label="Waiting" value=${integer(data?.jobs.waiting)} />
          <${Stat} label="Running" value=${integer(data?.jobs.running)} />
          <${Stat} label="Oldest waiting" value=${data?.jobs.oldest_waiting ? age(data.jobs.oldest_waiting.created_at) : NONE} />
        </dl>
        <p><a href=${`${BASE}/jobs`}>Jobs by recipe and status, failed jobs →</a></p>
      <//>
      <${Section} title="Latest eval run" id="overview-eval">
        ${
          data?.latest_eval
            ? html`
                <p>
                  Run <strong>#${data.latest_eval.run_id}</strong> (${data.latest_eval.run_type}, ${data.latest_eval.schema_variant}),
                  ${' '}${dateTime(data.latest_eval.started_at)}: <${Badge} value=${data.latest_eval.status} />
                </p>
                ${
                  data.latest_eval.failed_gates.length > 0
                    ? html`<ul class="gates">${data.latest_eval.failed_gates.map((gate) => html`<li key=${gate.gate}><code>${gate.gate}</code>: ${metric(gate.metric, gate.value)} (threshold ${metric(gate.metric, gate.threshold)})</li>`)}</ul>`
                    : html`<p class="muted">Every gate held.</p>`
                }
                <p><a href=${`${BASE}/evals`}>All eval runs →</a></p>
              `
            : data
              ? html`<${Empty}>No eval runs yet: run <code>genloop eval nightly</code>.<//>`
              : html`<p class="muted">Loading…</p>`
        }
      <//>
    </div>
    <${SpendPanel} window=${window} />
  `;
}
