import type { CanaryAnswer, CanaryCheck } from '../../contract.ts';
import { ADMIN } from '../api.ts';
import { Section } from '../components/page.ts';
import { Badge, Empty, ErrorNote } from '../components/states.ts';
import { dateTime, integer, milliseconds, NONE, percent } from '../format.ts';
import { html } from '../html.ts';
import { withQuery } from '../router.ts';
import { useResource } from '../use-resource.ts';

const POLL_MS = 5_000;

type Guardrail = CanaryCheck['guardrails'][number];

function shown(name: Guardrail['name'], value: number | null): string {
  return name === 'p95_latency_ms' ? milliseconds(value) : percent(value);
}

/** One guardrail: the measured value against its limit, and whether it held. */
function GuardrailCell({ check, name }: { check: CanaryCheck; name: Guardrail['name'] }) {
  const guardrail = check.guardrails.find((entry) => entry.name === name);
  if (!guardrail) return html`<td>${NONE}</td>`;
  const tone = guardrail.ok === false ? 'bad' : guardrail.ok ? 'good' : 'neutral';
  const limit =
    guardrail.limit === null ? 'no limit' : `${guardrail.kind} ${shown(name, guardrail.limit)}`;
  return html`
    <td class="nowrap">
      <span class=${`guardrail guardrail-${tone}`}>${shown(name, guardrail.value)}</span>
      <span class="small muted"> / ${limit}</span>
    </td>
  `;
}

/**
 * The environment's current or latest canary: its state, the candidate's weight at each step
 * (the current one marked), and every check's measurements against the thresholds.
 */
export function CanaryPanel({ environment }: { environment: string }) {
  const { data, error } = useResource<CanaryAnswer>(
    environment ? withQuery(`${ADMIN}/canary`, { environment }) : null,
    { pollMs: POLL_MS },
  );
  const canary = data?.canary;
  return html`
    <${Section} title=${`Canary${environment ? ` in ${environment}` : ''}`} id="rollouts-canary">
      <${ErrorNote} error=${error} />
      ${
        canary
          ? html`
              <p class="verdict">
                #${canary.id}: <strong>${canary.provider}</strong> at ${canary.weight} % of first tries
                ${' '}<${Badge} value=${canary.state} />
              </p>
              <ol class="canary-steps" aria-label="Weight of the candidate at each step">
                ${canary.steps.map((weight, index) => {
                  const current = index + 1 === canary.step;
                  const done = index + 1 < canary.step || (current && canary.state === 'promoted');
                  return html`
                    <li key=${index} class=${current ? 'current' : done ? 'done' : ''} aria-current=${current ? 'step' : undefined}>
                      ${weight} %${current ? html`<span class="visually-hidden"> (current step)</span>` : null}
                    </li>
                  `;
                })}
              </ol>
              <p class="muted small">
                Started ${dateTime(canary.started_at)} by ${canary.operator}; checks every ${canary.interval}${' '}
                (at least ${integer(canary.thresholds.min_samples)} first tries each); ${integer(canary.failed_checks)} failed of ${integer(canary.thresholds.max_failed_checks)} allowed.
                ${canary.next_check_at ? ` Next check ${dateTime(canary.next_check_at)}.` : ''}
                ${canary.finished_at ? ` Ended ${dateTime(canary.finished_at)}.` : ''}
              </p>
              ${canary.reason ? html`<p class="note">${canary.reason}</p>` : null}
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Checks of canary ${canary.id}, against its thresholds</caption>
                  <thead>
                    <tr>
                      <th scope="col">#</th><th scope="col">Time</th><th scope="col" class="number">Weight</th>
                      <th scope="col" class="number">Samples / min</th><th scope="col">Fallback rate / max</th>
                      <th scope="col">p95 / max</th><th scope="col">Schema-valid / min</th>
                      <th scope="col">Verdict</th><th scope="col">Decision</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${canary.checks.map(
                      (check) => html`
                        <tr key=${check.n}>
                          <td class="number">${check.n}</td>
                          <td class="nowrap">${dateTime(check.checked_at)}</td>
                          <td class="number">${check.weight} %</td>
                          <td class="number">${integer(check.candidate.samples)}<span class="small muted"> / ${integer(canary.thresholds.min_samples)}</span></td>
                          <${GuardrailCell} check=${check} name="fallback_rate" />
                          <${GuardrailCell} check=${check} name="p95_latency_ms" />
                          <${GuardrailCell} check=${check} name="schema_valid_rate" />
                          <td><${Badge} value=${check.verdict} /></td>
                          <td title=${check.reason}>${check.decision}</td>
                        </tr>
                      `,
                    )}
                  </tbody>
                </table>
              </div>
              ${canary.checks.length === 0 ? html`<${Empty}>No check yet: the first one runs when the interval is up.<//>` : null}
            `
          : data
            ? html`<${Empty}>No canary yet: run <code>genloop canary start --env ${environment} --provider custom</code>.<//>`
            : error
              ? null
              : html`<div class="placeholder-canary" aria-busy="true"></div>`
      }
    <//>
  `;
}
