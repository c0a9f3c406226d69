import type { Generation, GenerationPage } from '../../contract.ts';
import { ADMIN, request } from '../api.ts';
import { GENERATION_STATUSES, PROVIDERS, RECIPES, ROUTE_STRATEGIES, SOURCES } from '../choices.ts';
import { anyOf, type Choice } from '../components/fields.ts';
import { PageHeader } from '../components/page.ts';
import { cursorOf, Pager } from '../components/pager.ts';
import { Badge, Empty, ErrorNote, PlaceholderRows } from '../components/states.ts';
import { dateTime, integer, milliseconds, NONE, shortId, usd } from '../format.ts';
import { html } from '../html.ts';
import { BASE, type Location, navigate, withQuery } from '../router.ts';
import { useResource } from '../use-resource.ts';

const POLL_MS = 5_000;
const COLUMNS = 10;
/** The API's page size when the address sets none. */
const DEFAULT_LIMIT = 50;
/** How long a page keeps asking for older rows before it shows what it found. */
const GATHER_MS = 4_000;
const GATHER_REQUESTS = 25;

/**
 * A page of `limit` rows, asked for again from where the search stopped as long as the API
 * answers with fewer rows and a search that is not over: with filters that are rare together
 * one request reads only a share of the table. Gives up after a few seconds, and then says how
 * far back it searched.
 */
async function gatherPage(path: string, signal: AbortSignal): Promise<GenerationPage> {
  const url = new URL(path, window.location.origin);
  const limit = Number(url.searchParams.get('limit')) || DEFAULT_LIMIT;
  const started = performance.now();
  let page = await request<GenerationPage>(path, { signal });
  const data = [...page.data];
  for (
    let requests = 1;
    data.length < limit &&
    page.next_cursor &&
    page.searched_back_to &&
    requests < GATHER_REQUESTS &&
    performance.now() - started < GATHER_MS;
    requests++
  ) {
    url.searchParams.set('cursor', page.next_cursor);
    url.searchParams.set('limit', String(limit - data.length));
    page = await request<GenerationPage>(`${url.pathname}${url.search}`, { signal });
    data.push(...page.data);
  }
  return { ...page, data };
}

interface FilterSpec {
  name: string;
  label: string;
  choices?: Choice[];
  /** For free text: the input's type and hint. */
  type?: 'text' | 'datetime-local';
  placeholder?: string;
}

const FILTERS: FilterSpec[] = [
  { name: 'provider', label: 'Provider', choices: anyOf(PROVIDERS) },
  { name: 'route_strategy', label: 'Route strategy', choices: anyOf(ROUTE_STRATEGIES) },
  { name: 'status', label: 'Status', choices: anyOf(GENERATION_STATUSES) },
  {
    name: 'fallback_used',
    label: 'Fallback used',
    choices: [
      { value: '', label: 'Any' },
      { value: 'true', label: 'yes' },
      { value: 'false', label: 'no' },
    ],
  },
  { name: 'source', label: 'Source', choices: anyOf(SOURCES) },
  { name: 'recipe', label: 'Recipe', choices: anyOf(RECIPES) },
  { name: 'user_id', label: 'User id', type: 'text', placeholder: 'uuid' },
  { name: 'from', label: 'From', type: 'datetime-local' },
  { name: 'to', label: 'To', type: 'datetime-local' },
];
/** Passed to the API as they are: the filters and the page size (a link may set `limit`). */
const PASSED = [...FILTERS.map((filter) => filter.name), 'limit'];

/** An ISO time from the address as a datetime-local input shows it, in local time. */
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function FilterForm({ location }: { location: Location }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const query: Record<string, string | undefined> = {};
    for (const { name, type } of FILTERS) {
      const value = String(form.get(name) ?? '').trim();
      query[name] =
        type === 'datetime-local' && value && !Number.isNaN(new Date(value).getTime())
          ? new Date(value).toISOString()
          : value;
    }
    query.limit = location.query.get('limit') ?? undefined;
    navigate(withQuery(`${BASE}/generations`, query));
  };
  // Keyed by the address, so Clear, Back and Forward show the filters that apply.
  const key = PASSED.map((name) => location.query.get(name) ?? '').join('|');
  return html`
    <form class="filters" key=${key} onSubmit=${submit} aria-label="Filter generations">
      ${FILTERS.map((filter) => {
        const id = `filter-${filter.name}`;
        const value = location.query.get(filter.name) ?? '';
        return html`
          <div class="field" key=${filter.name}>
            <label for=${id}>${filter.label}</label>
            ${
              filter.choices
                ? html`<select id=${id} name=${filter.name}>
                    ${filter.choices.map((choice) => html`<option key=${choice.value} value=${choice.value} selected=${choice.value === value}>${choice.label}</option>`)}
                  </select>`
                : html`<input
                    id=${id}
                    name=${filter.name}
                    type=${filter.type}
                    placeholder=${filter.placeholder}
                    defaultValue=${filter.type === 'datetime-local' ? toLocalInput(value) : value}
                    spellcheck=${false}
                  />`
            }
          </div>
        `;
      })}
      <div class="filter-actions">
        <button type="submit" class="primary">Apply filters</button>
        <a href=${`${BASE}/generations`}>Clear</a>
      </div>
    </form>
  `;
}

/** The detail page of a row: by request id, else by the row's own id. */
export function generationHref(row: Pick<Generation, 'id' | 'request_id'>): string {
  return `${BASE}/generations/${encodeURIComponent(row.request_id ?? row.id)}`;
}

function Row({ row }: { row: Generation }) {
  return html`
    <tr>
      <td class="nowrap">${dateTime(row.created_at)}</td>
      <td><a href=${generationHref(row)} title=${row.request_id ?? row.id}><code>${shortId(row.request_id ?? row.id)}</code></a></td>
      <td>${row.recipe ?? NONE}</td>
      <td>${row.source.replaceAll('_', ' ')}</td>
      <td><${Badge} value=${row.status} /></td>
      <td>
        ${row.selected_provider ?? NONE}
        ${row.fallback_used ? html` <${Badge} value="fallback" tone="warn" />` : null}
      </td>
      <td>${row.route_strategy?.replaceAll('_', ' ') ?? NONE}</td>
      <td class="number">${milliseconds(row.latency_ms)}</td>
      <td class="number">${integer(row.tokens_input)} / ${integer(row.tokens_output)}</td>
      <td class="number">${usd(row.cost_usd)}</td>
    </tr>
  `;
}

/**
 * Every generation the telemetry recorded, newest first, filtered by the form (whose values live
 * in the address, so a filtered view can be shared) and paged by cursor. The first page follows
 * new generations by itself.
 */
export function GenerationsPage({ location }: { location: Location }) {
  const cursor = cursorOf(location);
  const query: Record<string, string | undefined> = { cursor };
  for (const name of PASSED) query[name] = location.query.get(name) ?? undefined;
  const { data, error, loading } = useResource<GenerationPage>(
    withQuery(`${ADMIN}/generations`, query),
    cursor ? { load: gatherPage } : { pollMs: POLL_MS, load: gatherPage },
  );
  const searchedTo = data?.searched_back_to ?? null;
  const filtered = FILTERS.some((filter) => location.query.get(filter.name));
  const rows = loading && error === undefined ? undefined : data?.data;

  return html`
    <${PageHeader} title="Generations" />
    <${FilterForm} location=${location} />
    <${ErrorNote} error=${error} />
    <div class="table-wrap">
      <table aria-busy=${loading}>
        <caption class="visually-hidden">Generations, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th><th scope="col">Request</th><th scope="col">Recipe</th>
            <th scope="col">Source</th><th scope="col">Status</th><th scope="col">Provider</th>
            <th scope="col">Strategy</th><th scope="col" class="number">Latency</th>
            <th scope="col" class="number">Tokens in / out</th><th scope="col" class="number">Cost</th>
          </tr>
        </thead>
        <tbody>
          ${rows ? rows.map((row) => html`<${Row} key=${row.id} row=${row} />`) : error ? null : html`<${PlaceholderRows} columns=${COLUMNS} rows=${8} />`}
        </tbody>
      </table>
    </div>
    ${
      rows && rows.length === 0 && !searchedTo
        ? html`<${Empty}>${
            filtered
              ? html`No generations match these filters. <a href=${`${BASE}/generations`}>Clear them</a> or widen the time range.`
              : 'No generations recorded yet: send a request to /v1/chat/completions or a product flow, and it shows here within seconds.'
          }<//>`
        : null
    }
    ${
      rows && searchedTo
        ? html`<p class="muted small" role="status">
            ${rows.length === 0 ? 'No match yet' : 'These are all the matches'} back to ${dateTime(searchedTo)}: these filters are rare together, so older rows are searched a stretch at a time. Next → searches further back.
          </p>`
        : null
    }
    <${Pager} location=${location} nextCursor=${data?.next_cursor} label="Generation pages" live=${true} />
  `;
}
