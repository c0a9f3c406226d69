import type { Job, Jobs, Window } from '../../contract.ts';
import { ADMIN, request } from '../api.ts';
import { JOB_RECIPES, JOB_STATUSES } from '../choices.ts';
import { anyOf, SelectField } from '../components/fields.ts';
import { PageHeader, Section } from '../components/page.ts';
import { cursorOf, Pager } from '../components/pager.ts';
import { Badge, Empty, ErrorNote, PlaceholderRows, SuccessNote } from '../components/states.ts';
import { age, dateTime, integer, NONE, shortId } from '../format.ts';
import { html } from '../html.ts';
import { BASE, type Location, navigate, withQuery } from '../router.ts';
import { useAction } from '../use-action.ts';
import { useResource } from '../use-resource.ts';

const POLL_MS = 5_000;
const WINDOWS: { value: Window; label: string }[] = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
];

function errorText(error: unknown): string {
  if (error === null || error === undefined) return NONE;
  if (typeof error === 'string') return error;
  if (typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof message === 'string')
      return typeof code === 'string' ? `${code}: ${message}` : message;
  }
  return JSON.stringify(error);
}

function Counts({ data }: { data: Jobs | undefined }) {
  const count = (recipe: string, status: string) =>
    data?.counts.find((entry) => entry.recipe === recipe && entry.status === status)?.count ?? 0;
  return html`
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Jobs created in the window, by recipe and status</caption>
        <thead>
          <tr><th scope="col">Recipe</th>${JOB_STATUSES.map((status) => html`<th scope="col" class="number" key=${status}>${status.replaceAll('_', ' ')}</th>`)}</tr>
        </thead>
        <tbody>
          ${JOB_RECIPES.map(
            (recipe) => html`
              <tr key=${recipe}>
                <th scope="row">${recipe}</th>
                ${JOB_STATUSES.map((status) => html`<td class="number" key=${status}>${data ? integer(count(recipe, status)) : NONE}</td>`)}
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}

/**
 * The job queue: counts by recipe and status over a window, what is waiting and for how long,
 * and the failed jobs with their errors. A failed job can be queued again, and the oldest
 * waiting job canceled; the page shows what the API answered.
 */
export function JobsPage({ location }: { location: Location }) {
  const chosen = location.query.get('window');
  const window = WINDOWS.some((entry) => entry.value === chosen) ? (chosen as Window) : '24h';
  const recipe = location.query.get('recipe') ?? '';
  const cursor = cursorOf(location);
  const { data, error, loading, reload } = useResource<Jobs>(
    withQuery(`${ADMIN}/jobs`, {
      window,
      recipe,
      cursor,
      limit: location.query.get('limit') ?? undefined,
    }),
    { pollMs: POLL_MS },
  );
  const act = useAction(
    async (verb: 'retry' | 'cancel', job: Job) => {
      const result = await request<Job>(`${ADMIN}/jobs/${job.id}/${verb}`, { method: 'POST' });
      reload();
      return verb === 'retry'
        ? `Job ${shortId(job.id)} (${job.recipe}) is queued again: now ${result.status}.`
        : `Job ${shortId(job.id)} (${job.recipe}) is ${result.status}.`;
    },
    (verb, job) => `${verb}:${job.id}`,
  );
  const choose = (name: string, value: string) =>
    navigate(
      withQuery(`${BASE}/jobs`, {
        window: name === 'window' ? value : (chosen ?? undefined),
        recipe: name === 'recipe' ? value : recipe,
      }),
      { replace: true },
    );
  const failed = loading ? undefined : data?.failed.data;
  const oldest = data?.oldest_waiting;

  return html`
    <${PageHeader} title="Jobs">
      <${SelectField} id="jobs-window" label="Window" value=${window} choices=${WINDOWS} onChange=${(value: string) => choose('window', value)} />
      <${SelectField} id="jobs-recipe" label="Recipe" value=${recipe} choices=${anyOf(JOB_RECIPES)} onChange=${(value: string) => choose('recipe', value)} />
    <//>
    <${ErrorNote} error=${error} />
    <div aria-live="polite">
      ${act.done ? html`<${SuccessNote}>${act.done}<//>` : null}
      <${ErrorNote} error=${act.error} action=${act.subject?.startsWith('retry') ? 'Retry' : 'Cancel'} />
    </div>
    <dl class="stats">
      <div class="stat"><dt>Waiting</dt><dd>${integer(data?.waiting)}</dd></div>
      <div class="stat"><dt>Running</dt><dd>${integer(data?.running)}</dd></div>
      <div class="stat"><dt>Oldest waiting</dt><dd>${oldest ? age(oldest.created_at) : NONE}</dd></div>
    </dl>
    ${
      oldest
        ? html`
            <p class="oldest">
              Oldest waiting: <code title=${oldest.id}>${shortId(oldest.id)}</code> (${oldest.recipe}), created ${dateTime(oldest.created_at)},
              run ${oldest.attempts} of ${oldest.max_attempts}.
              ${' '}<button type="button" disabled=${act.busy} onClick=${() => act.run('cancel', oldest)}>Cancel job ${shortId(oldest.id)}</button>
            </p>
          `
        : null
    }
    <${Section} title="By recipe and status" id="jobs-counts">
      <${Counts} data=${data} />
    <//>
    <${Section} title="Failed jobs" id="jobs-failed">
      <div class="table-wrap">
        <table aria-busy=${loading}>
          <thead>
            <tr>
              <th scope="col">Job</th><th scope="col">Recipe</th><th scope="col">Status</th>
              <th scope="col">Error</th><th scope="col">Runs</th><th scope="col">Finished</th>
              <th scope="col"><span class="visually-hidden">Action</span></th>
            </tr>
          </thead>
          <tbody>
            ${
              failed
                ? failed.map(
                    (job) => html`
                      <tr key=${job.id}>
                        <td>${job.request_id ? html`<a href=${`${BASE}/generations/${job.request_id}`} title=${job.id}><code>${shortId(job.id)}</code></a>` : html`<code title=${job.id}>${shortId(job.id)}</code>`}</td>
                        <td>${job.recipe}</td>
                        <td><${Badge} value=${job.status} /></td>
                        <td class="error-cell">${errorText(job.error)}</td>
                        <td class="number">${job.attempts} / ${job.max_attempts}</td>
                        <td class="nowrap">${dateTime(job.finished_at ?? job.updated_at)}</td>
                        <td>
                          <button type="button" disabled=${act.busy} aria-label=${`Retry job ${job.id}`} onClick=${() => act.run('retry', job)}>
                            ${act.busy && act.subject === `retry:${job.id}` ? 'Retrying…' : 'Retry'}
                          </button>
                        </td>
                      </tr>
                    `,
                  )
                : error
                  ? null
                  : html`<${PlaceholderRows} columns=${7} rows=${3} />`
            }
          </tbody>
        </table>
      </div>
      ${failed && failed.length === 0 ? html`<${Empty}>No failed jobs${recipe ? ` for ${recipe}` : ''}. Jobs that fail or time out show here with their error, ready to retry.<//>` : null}
      <${Pager} location=${location} nextCursor=${data?.failed.next_cursor} label="Failed job pages" />
    <//>
  `;
}
