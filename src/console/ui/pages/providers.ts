import { useState } from 'preact/hooks';
import type { ProviderConfig, ProviderPatch, Providers, ProviderUpdated } from '../../contract.ts';
import { ADMIN, request } from '../api.ts';
import { SelectField } from '../components/fields.ts';
import { PageHeader } from '../components/page.ts';
import { Badge, Empty, ErrorNote, PlaceholderRows, SuccessNote } from '../components/states.ts';
import { useEnvironments } from '../environments.ts';
import { dateTime, integer, milliseconds, NONE, percent } from '../format.ts';
import { html } from '../html.ts';
import { BASE, type Location, navigate, withQuery } from '../router.ts';
import { type Action, useAction } from '../use-action.ts';
import { useResource } from '../use-resource.ts';

const POLL_MS = 10_000;
const COLUMNS = 9;

type Edit = Action<[ProviderConfig, ProviderPatch, string]>;

function WeightForm({ config, edit }: { config: ProviderConfig; edit: Edit }) {
  const [weight, setWeight] = useState(String(config.weight));
  const id = `weight-${config.provider}`;
  const submit = (event: Event) => {
    event.preventDefault();
    const value = Number(weight);
    void edit.run(config, { weight: value }, `weight of ${config.provider} set to ${value}`);
  };
  return html`
    <form class="inline-form" onSubmit=${submit}>
      <label for=${id} class="visually-hidden">Weight of ${config.provider}</label>
      <input
        id=${id}
        type="number"
        min="0"
        max="100"
        step="1"
        required
        value=${weight}
        onInput=${(event: Event) => setWeight((event.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit" disabled=${edit.busy || weight === String(config.weight)}>Save</button>
    </form>
  `;
}

function Health({ config }: { config: ProviderConfig }) {
  const { health } = config;
  return html`
    <${Badge} value=${health.cooling_down ? 'cooling_down' : 'ok'} />
    <div class="small muted">
      ${integer(health.attempts_1h)} attempts in 1 h · errors ${percent(health.error_rate_1h)} · p95 ${milliseconds(health.p95_latency_ms_1h)}
      ${health.cooling_down && health.cooldown_until ? html`<br />cooling down until ${dateTime(health.cooldown_until)}` : null}
      ${health.last_error_class ? html`<br />last error: ${health.last_error_class}` : null}
    </div>
  `;
}

function ProviderRow({ config, edit }: { config: ProviderConfig; edit: Edit }) {
  return html`
    <tr>
      <th scope="row">${config.provider}${config.is_default ? html` <${Badge} value="default" tone="neutral" />` : null}</th>
      <td><${Badge} value=${config.enabled ? 'enabled' : 'disabled'} /></td>
      <td><${WeightForm} key=${config.weight} config=${config} edit=${edit} /></td>
      <td class="number">${milliseconds(config.timeout_ms)}</td>
      <td class="number">${config.max_retries}</td>
      <td>${config.model ?? NONE}<div class="small muted">prompt ${config.prompt_template_version}</div></td>
      <td><${Health} config=${config} /></td>
      <td class="nowrap small">${dateTime(config.updated_at)}</td>
      <td>
        <div class="actions">
        <button
          type="button"
          disabled=${edit.busy}
          onClick=${() => edit.run(config, { enabled: !config.enabled }, `${config.provider} ${config.enabled ? 'disabled' : 'enabled'}`)}
        >${config.enabled ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${config.provider}</span></button>
        ${
          config.is_default
            ? null
            : html`<button
                type="button"
                disabled=${edit.busy}
                onClick=${() => edit.run(config, { is_default: true }, `${config.provider} made the default`)}
              >Make default<span class="visually-hidden"> ${config.provider}</span></button>`
        }
        </div>
      </td>
    </tr>
  `;
}

/**
 * The provider configs of an environment with each provider's live health. Weights, enabled and
 * default can be changed here; every change lands in the rollout log with who made it, and a
 * change the rules refuse (two defaults, no provider left enabled) is explained, not applied.
 */
export function ProvidersPage({ location }: { location: Location }) {
  const chosen = location.query.get('environment');
  const environments = useEnvironments(chosen);
  const { data, error, loading, reload } = useResource<Providers>(
    withQuery(`${ADMIN}/providers`, { environment: chosen ?? undefined }),
    { pollMs: POLL_MS },
  );
  const edit = useAction(
    async (config: ProviderConfig, patch: ProviderPatch, change: string) => {
      const result = await request<ProviderUpdated>(
        `${ADMIN}/providers/${encodeURIComponent(config.environment)}/${config.provider}`,
        { method: 'PATCH', body: patch },
      );
      reload();
      return `${change[0]?.toUpperCase()}${change.slice(1)} in ${config.environment} (rollout log #${result.rollout_log_id}).`;
    },
    (config) => config.provider,
  );
  const providers = loading ? undefined : data?.providers;

  return html`
    <${PageHeader} title="Providers">
      <${SelectField}
        id="providers-environment"
        label="Environment"
        value=${environments.value}
        choices=${environments.choices}
        onChange=${(value: string) => navigate(withQuery(`${BASE}/providers`, { environment: value }), { replace: true })}
      />
    <//>
    <${ErrorNote} error=${error} />
    <div aria-live="polite">
      ${edit.done ? html`<${SuccessNote}>${edit.done} <a href=${withQuery(`${BASE}/rollouts`, { environment: data?.environment })}>See the rollout log →</a><//>` : null}
      <${ErrorNote} error=${edit.error} action=${`Changing ${edit.subject ?? 'the provider'}`} />
    </div>
    <p>
      Route strategy: <strong>${data ? data.route_strategy.replaceAll('_', ' ') : NONE}</strong>
      <span class="muted small"> (from the default provider's metadata)</span>
    </p>
    <div class="table-wrap">
      <table aria-busy=${loading}>
        <caption class="visually-hidden">Provider configs of ${data?.environment ?? 'the environment'}</caption>
        <thead>
          <tr>
            <th scope="col">Provider</th><th scope="col">State</th><th scope="col">Weight</th>
            <th scope="col" class="number">Timeout</th><th scope="col" class="number">Retries</th>
            <th scope="col">Model</th><th scope="col">Health</th><th scope="col">Updated</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${
            providers
              ? providers.map(
                  (config) =>
                    html`<${ProviderRow} key=${config.provider} config=${config} edit=${edit} />`,
                )
              : error
                ? null
                : html`<${PlaceholderRows} columns=${COLUMNS} rows=${3} />`
          }
        </tbody>
      </table>
    </div>
    ${
      providers && providers.length === 0
        ? html`<${Empty}>No provider configs in ${data?.environment}. Apply an overlay with <code>genloop rollout apply --env ${data?.environment}</code>.<//>`
        : null
    }
  `;
}
