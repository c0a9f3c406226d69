import { useState } from 'preact/hooks';
import type { RolloutEntry, RolloutPage, Verification } from '../../contract.ts';
import { ADMIN, request } from '../api.ts';
import { type Choice, SelectField } from '../components/fields.ts';
import { PageHeader, Section } from '../components/page.ts';
import { cursorOf, Pager } from '../components/pager.ts';
import { Badge, Empty, ErrorNote, PlaceholderRows } from '../components/states.ts';
import { useEnvironments } from '../environments.ts';
import { dateTime, NONE } from '../format.ts';
import { html } from '../html.ts';
import { BASE, type Location, navigate, withQuery } from '../router.ts';
import { useAction } from '../use-action.ts';
import { useResource } from '../use-resource.ts';
import { CanaryPanel } from './canary.ts';

type Target = Verification['target'];
const TARGETS: { value: Target; label: string }[] = [
  { value: 'prod', label: 'prod' },
  { value: 'staging', label: 'staging' },
  { value: 'single_db', label: 'single_db' },
];
const POLL_MS = 10_000;

function Details({ entry }: { entry: RolloutEntry }) {
  const parts: [string, unknown][] = [
    ['Saved state', entry.saved_state],
    ['Verification', entry.verification],
    ['Rollback test', entry.rollback_test_result],
  ];
  const shown = parts.filter(([, value]) => value !== null && value !== undefined);
  if (shown.length === 0) return null;
  return html`
    <details class="raw">
      <summary>Details<span class="visually-hidden"> of entry ${entry.id}</span></summary>
      ${shown.map(
        ([title, value]) => html`
          <h4 key=${title}>${title}</h4>
          <pre tabindex="0">${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>
        `,
      )}
    </details>
  `;
}

function VerifyPanel({ onDone }: { onDone: () => void }) {
  const [target, setTarget] = useState<Target>('prod');
  const [result, setResult] = useState<Verification | undefined>(undefined);
  const verify = useAction(async (chosen: Target) => {
    setResult(undefined);
    const verification = await request<Verification>(`${ADMIN}/rollouts/${chosen}/verify`, {
      method: 'POST',
    });
    setResult(verification);
    onDone();
    return '';
  });
  const submit = (event: Event) => {
    event.preventDefault();
    void verify.run(target);
  };
  return html`
    <${Section} title="Verify an environment" id="rollouts-verify">
      <p class="muted">Runs the checks of <code>genloop rollout verify</code> against this database and logs the run.</p>
      <form class="inline-form" onSubmit=${submit}>
        <${SelectField} id="verify-target" label="Target" value=${target} choices=${TARGETS} onChange=${(value: string) => setTarget(value as Target)} />
        <button type="submit" class="primary" disabled=${verify.busy}>${verify.busy ? 'Verifying…' : 'Verify'}</button>
      </form>
      <div aria-live="polite">
        <${ErrorNote} error=${verify.error} action="Verify" />
        ${
          result
            ? html`
                <p class="verdict">
                  ${result.target}: <${Badge} value=${result.passed ? 'passed' : 'failed'} />
                  <span class="muted"> (${result.checks.filter((check) => check.passed).length} of ${result.checks.length} checks passed, rollout log #${result.rollout_log_id})</span>
                </p>
                <div class="table-wrap">
                  <table>
                    <caption class="visually-hidden">Checks of ${result.target}</caption>
                    <thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Expected</th><th scope="col">Found</th></tr></thead>
                    <tbody>
                      ${result.checks.map(
                        (check) => html`
                          <tr key=${check.name}>
                            <th scope="row">${check.name}<div class="small muted">${check.source}</div></th>
                            <td><${Badge} value=${check.passed ? 'passed' : 'failed'} /></td>
                            <td>${check.expectation}</td>
                            <td>${check.detail}</td>
                          </tr>
                        `,
                      )}
                    </tbody>
                  </table>
                </div>
              `
            : null
        }
      </div>
    <//>
  `;
}

/**
 * The rollout log (overlays applied, verifications, rollbacks, canary steps and the console's
 * own provider edits, each with who did it), per environment, and a button that verifies an
 * environment now.
 */
export function RolloutsPage({ location }: { location: Location }) {
  const chosen = location.query.get('environment') ?? '';
  const environments = useEnvironments(null);
  const choices: Choice[] = [
    { value: '', label: 'All environments' },
    ...environments.choices.filter((choice) => choice.value !== ''),
  ];
  if (chosen && !choices.some((choice) => choice.value === chosen)) {
    choices.push({ value: chosen, label: chosen });
  }
  const cursor = cursorOf(location);
  const { data, error, loading, reload } = useResource<RolloutPage>(
    withQuery(`${ADMIN}/rollouts`, {
      environment: chosen,
      cursor,
      limit: location.query.get('limit') ?? undefined,
    }),
    cursor ? {} : { pollMs: POLL_MS },
  );
  const entries = loading ? undefined : data?.data;

  return html`
    <${PageHeader} title="Rollouts">
      <${SelectField}
        id="rollouts-environment"
        label="Environment"
        value=${chosen}
        choices=${choices}
        onChange=${(value: string) => navigate(withQuery(`${BASE}/rollouts`, { environment: value }), { replace: true })}
      />
    <//>
    <${CanaryPanel} environment=${chosen || environments.value} />
    <${VerifyPanel} onDone=${reload} />
    <${Section} title="Rollout log" id="rollouts-log">
      <${ErrorNote} error=${error} />
      <div class="table-wrap">
        <table aria-busy=${loading}>
          <thead>
            <tr>
              <th scope="col">#</th><th scope="col">Time</th><th scope="col">Environment</th>
              <th scope="col">Action</th><th scope="col">Status</th><th scope="col">Operator</th>
              <th scope="col">Notes</th>
            </tr>
          </thead>
          <tbody>
            ${
              entries
                ? entries.map(
                    (entry) => html`
                      <tr key=${entry.id}>
                        <td class="number">${entry.id}</td>
                        <td class="nowrap">${dateTime(entry.started_at)}</td>
                        <td>${entry.environment}</td>
                        <td>${entry.action.replaceAll('_', ' ')}</td>
                        <td><${Badge} value=${entry.status} /></td>
                        <td class="operator" title=${entry.operator}>${entry.operator}</td>
                        <td>${entry.notes ?? NONE}<${Details} entry=${entry} /></td>
                      </tr>
                    `,
                  )
                : error
                  ? null
                  : html`<${PlaceholderRows} columns=${7} rows=${5} />`
            }
          </tbody>
        </table>
      </div>
      ${
        entries && entries.length === 0
          ? html`<${Empty}>Nothing logged${chosen ? ` for ${chosen}` : ''} yet. <code>genloop rollout apply --env ${chosen || 'prod'}</code>, a verification or a provider change on the <a href=${`${BASE}/providers`}>Providers</a> page writes here.<//>`
          : null
      }
      <${Pager} location=${location} nextCursor=${data?.next_cursor} label="Rollout log pages" />
    <//>
  `;
}
