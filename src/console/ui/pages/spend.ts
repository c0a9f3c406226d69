import type { Spend, Window } from '../../contract.ts';
import { ADMIN } from '../api.ts';
import { Section } from '../components/page.ts';
import { Empty, ErrorNote, PlaceholderRows } from '../components/states.ts';
import { dateTime, integer, NONE, shortId, usd } from '../format.ts';
import { html } from '../html.ts';
import { BASE, withQuery } from '../router.ts';
import { useResource } from '../use-resource.ts';

const POLL_MS = 10_000;

function limitOf(budget: { limit_usd: number; period: string } | null): string {
  return budget ? `${usd(budget.limit_usd)} a ${budget.period}` : NONE;
}

/**
 * What calls cost in the overview's window, per provider and for the users who spent most, and
 * the budgets in force. The tables keep their place while loading, so the page does not move.
 */
export function SpendPanel({ window }: { window: Window }) {
  const { data, error } = useResource<Spend>(withQuery(`${ADMIN}/spend`, { window }), {
    pollMs: POLL_MS,
  });
  const noCost = data !== undefined && data.calls === 0;
  const plans = data?.budgets.plans ?? [];
  const limits = data?.budgets.user_limits ?? [];
  return html`
    <div class="columns">
      <${Section} title="Spend" id="overview-spend">
        <${ErrorNote} error=${error} />
        <dl class="stats compact" aria-busy=${data === undefined}>
          <div class="stat"><dt>Spent</dt><dd>${data ? usd(data.total_usd) : NONE}</dd></div>
          <div class="stat"><dt>Calls with a cost</dt><dd>${integer(data?.calls)}</dd></div>
        </dl>
        <p class="muted small">
          ${
            data
              ? `${dateTime(data.from)} to ${dateTime(data.to)}, from ${data.read_from === 'rollup' ? 'the rollups' : 'the telemetry rows'}. Calls of unknown cost are left out${data.unpriced_calls > 0 ? ` (${integer(data.unpriced_calls)} in this window)` : ''}.`
              : '\u00a0'
          }
        </p>
        <div class="table-wrap">
          <table aria-busy=${data === undefined}>
            <caption class="visually-hidden">Spend per provider</caption>
            <thead><tr><th scope="col">Provider</th><th scope="col" class="number">Spent</th><th scope="col" class="number">Calls</th></tr></thead>
            <tbody>
              ${
                data
                  ? data.by_provider.map(
                      (row) => html`
                        <tr key=${row.provider ?? 'none'}>
                          <th scope="row">${row.provider ?? 'none'}</th>
                          <td class="number">${usd(row.cost_usd)}</td>
                          <td class="number">${integer(row.calls)}</td>
                        </tr>
                      `,
                    )
                  : html`<${PlaceholderRows} columns=${3} rows=${3} />`
              }
            </tbody>
          </table>
        </div>
        ${noCost ? html`<${Empty}>No cost recorded yet in this window: calls record one once their model has a price (see <code>docs/cost-control.md</code>).<//>` : null}
        <h3>Top users</h3>
        ${
          data && data.users_from !== data.from
            ? html`<p class="muted small">Since ${dateTime(data.users_from)}: spend per user is kept per UTC day, so the top users count the whole days of the window.</p>`
            : null
        }
        <div class="table-wrap">
          <table aria-busy=${data === undefined}>
            <caption class="visually-hidden">The users who spent most</caption>
            <thead><tr><th scope="col">User</th><th scope="col" class="number">Spent</th><th scope="col" class="number">Calls</th><th scope="col">Budget</th></tr></thead>
            <tbody>
              ${
                data
                  ? data.top_users.map(
                      (row) => html`
                        <tr key=${row.user_id}>
                          <th scope="row"><a href=${withQuery(`${BASE}/generations`, { user_id: row.user_id })} title=${row.user_id}>${shortId(row.user_id)}</a></th>
                          <td class="number">${usd(row.cost_usd)}</td>
                          <td class="number">${integer(row.calls)}</td>
                          <td>${limitOf(row.budget)}${row.budget?.plan ? html`<span class="small muted"> (${row.budget.source === 'plan' ? 'plan' : 'own; plan'} ${row.budget.plan})</span>` : null}</td>
                        </tr>
                      `,
                    )
                  : html`<${PlaceholderRows} columns=${4} rows=${3} />`
              }
            </tbody>
          </table>
        </div>
        ${data && data.top_users.length === 0 ? html`<${Empty}>No user has spent anything in this window.<//>` : null}
      <//>
      <${Section} title="Budgets" id="overview-budgets">
        <div class="table-wrap">
          <table aria-busy=${data === undefined}>
            <caption class="visually-hidden">Budget plans</caption>
            <thead><tr><th scope="col">Plan</th><th scope="col" class="number">Limit</th><th scope="col" class="number">Users</th></tr></thead>
            <tbody>
              ${plans.map(
                (plan) => html`
                  <tr key=${plan.name}>
                    <th scope="row">${plan.name}</th>
                    <td class="number">${limitOf(plan)}</td>
                    <td class="number">${integer(plan.users)}</td>
                  </tr>
                `,
              )}
            </tbody>
          </table>
        </div>
        ${
          limits.length > 0
            ? html`
                <h3>Users with their own limit</h3>
                <ul class="gates">
                  ${limits.map((row) => html`<li key=${row.user_id}><code title=${row.user_id}>${shortId(row.user_id)}</code>: ${limitOf(row)}</li>`)}
                </ul>
                ${data && data.budgets.user_limits_total > limits.length ? html`<p class="muted small">and ${integer(data.budgets.user_limits_total - limits.length)} more.</p>` : null}
              `
            : null
        }
        ${
          data && plans.length === 0 && limits.length === 0
            ? html`<${Empty}>No budgets: spending has no limit. Set one with <code>genloop budget set --plan free --usd 1 --period day</code> or <code>genloop budget set --user ${'<uuid>'} …</code>.<//>`
            : null
        }
      <//>
    </div>
  `;
}
