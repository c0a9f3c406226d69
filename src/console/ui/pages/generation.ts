import type { Attempt, GenerationDetail, Job } from '../../contract.ts';
import { ADMIN } from '../api.ts';
import { PageHeader, Section } from '../components/page.ts';
import { Badge, ErrorNote } from '../components/states.ts';
import { dateTime, integer, milliseconds, NONE, timeOfDay, usd } from '../format.ts';
import { html } from '../html.ts';
import { BASE } from '../router.ts';
import { useResource } from '../use-resource.ts';

type Value = string | number | boolean | null | undefined;

function show(value: Value): string {
  if (value === null || value === undefined || value === '') return NONE;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** A term and its value; the value may be markup. */
function Field({ term, children }: { term: string; children: unknown }) {
  return html`<div><dt>${term}</dt><dd>${children}</dd></div>`;
}

/** JSON the operator may want to read in full: folded away, scrollable when open. */
function Raw({ summary, value }: { summary: string; value: unknown }) {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return html`
    <details class="raw">
      <summary>${summary}</summary>
      <pre tabindex="0">${text}</pre>
    </details>
  `;
}

function errorText(error: unknown): string | undefined {
  if (error === null || error === undefined) return undefined;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return JSON.stringify(error);
}

function AttemptEntry({ attempt }: { attempt: Attempt }) {
  const outcome =
    attempt.http_status !== null
      ? `HTTP ${attempt.http_status}`
      : (attempt.error_class ?? (attempt.status === 'succeeded' ? 'answered' : NONE));
  return html`
    <li class=${`attempt attempt-${attempt.status}`}>
      ${
        attempt.backoff_ms !== null
          ? html`<p class="backoff">waited ${milliseconds(Math.max(0, attempt.backoff_ms))} before this attempt${attempt.retry_after_ms ? ` (provider asked for ${milliseconds(attempt.retry_after_ms)})` : ''}</p>`
          : null
      }
      <div class="attempt-card">
        <h3>
          Attempt ${attempt.attempt_no}: <span class="provider">${attempt.provider}</span>
          ${attempt.model ? html` <span class="muted">${attempt.model}</span>` : null}
        </h3>
        <dl class="fields compact">
          <${Field} term="Outcome"><${Badge} value=${attempt.status} /><//>
          <${Field} term="Status or error">${outcome}${attempt.error_class && attempt.http_status !== null ? ` (${attempt.error_class})` : ''}<//>
          <${Field} term="Latency">${milliseconds(attempt.latency_ms)}<//>
          <${Field} term="First byte">${milliseconds(attempt.ttfb_ms)}<//>
          <${Field} term="Started">${timeOfDay(attempt.started_at)}<//>
        </dl>
        ${errorText(attempt.error) ? html`<p class="error-text">${errorText(attempt.error)}</p>` : null}
      </div>
    </li>
  `;
}

function JobSection({ job }: { job: Job }) {
  return html`
    <${Section} title="Job" id="generation-job">
      <dl class="fields">
        <${Field} term="Job id"><code>${job.id}</code><//>
        <${Field} term="Recipe">${job.recipe}<//>
        <${Field} term="Status"><${Badge} value=${job.status} /><//>
        <${Field} term="Runs">${job.attempts} of ${job.max_attempts}<//>
        <${Field} term="Created">${dateTime(job.created_at)}<//>
        <${Field} term="Finished">${dateTime(job.finished_at)}<//>
      </dl>
      ${errorText(job.error) ? html`<p class="error-text">${errorText(job.error)}</p>` : null}
      <p><a href=${`${BASE}/jobs`}>Jobs →</a></p>
    <//>
  `;
}

/**
 * One generation: what the telemetry row recorded (routing, prompt template, tokens, cost, the
 * contract's quality flags), every provider attempt in order with the waits between them, and
 * the job it ran in when it was one.
 */
export function GenerationPage({ requestId }: { requestId: string }) {
  const { data, error, loading } = useResource<GenerationDetail>(
    `${ADMIN}/generations/${encodeURIComponent(requestId)}`,
  );
  const detail = loading ? undefined : data;
  const row = detail?.generation;
  return html`
    <p class="crumbs"><a href=${`${BASE}/generations`}>← Generations</a></p>
    <${PageHeader} title=${`Generation ${requestId}`} />
    <${ErrorNote} error=${error} />
    ${
      row
        ? html`
            ${detail.rows_with_request_id > 1 ? html`<p class="note">${detail.rows_with_request_id} telemetry rows share this request id; the newest is shown.</p>` : null}
            <dl class="fields" aria-label="Telemetry">
              <${Field} term="Status"><${Badge} value=${row.status} /><//>
              <${Field} term="Created">${dateTime(row.created_at)}<//>
              <${Field} term="Recipe">${show(row.recipe)}<//>
              <${Field} term="Source">${show(row.source)}<//>
              <${Field} term="Route strategy">${show(row.route_strategy)}<//>
              <${Field} term="Requested provider">${show(row.requested_provider)}<//>
              <${Field} term="Selected provider">${show(row.selected_provider)}<//>
              <${Field} term="Fallback used">${row.fallback_used ? `yes${row.fallback_provider ? `, to ${row.fallback_provider}` : ''}` : 'no'}<//>
              <${Field} term="Model">${show(row.model)}<//>
              <${Field} term="Prompt template version">${show(row.prompt_template_version)}<//>
              <${Field} term="Latency">${milliseconds(row.latency_ms)}<//>
              <${Field} term="Tokens in / out">${integer(row.tokens_input)} / ${integer(row.tokens_output)}<//>
              <${Field} term="Cost">${usd(row.cost_usd)}<//>
              <${Field} term="User">${row.user_id ? html`<a href=${`${BASE}/generations?user_id=${row.user_id}`}><code>${row.user_id}</code></a>` : NONE}<//>
              <${Field} term="Request id"><code>${show(row.request_id)}</code><//>
              <${Field} term="Schema valid">${show(row.schema_valid)}<//>
              <${Field} term="Patch applied">${show(row.patch_apply_success)}<//>
              <${Field} term="Safety compliant">${show(row.safety_compliant)}<//>
            </dl>
            ${errorText(row.error) ? html`<p class="error-text">${errorText(row.error)}</p>` : null}
            <${Section} title=${`Attempts (${detail.attempts.length})`} id="generation-attempts">
              ${
                detail.attempts.length > 0
                  ? html`<ol class="timeline">${detail.attempts.map((attempt) => html`<${AttemptEntry} key=${attempt.attempt_no} attempt=${attempt} />`)}</ol>`
                  : html`<p class="muted">No provider attempts were recorded for this generation (a cache hit, or an import).</p>`
              }
            <//>
            ${detail.job ? html`<${JobSection} job=${detail.job} />` : null}
            <${Section} title="Recorded content" id="generation-content">
              <${Raw} summary="Prompt" value=${row.prompt} />
              <${Raw} summary="Input" value=${row.input} />
              <${Raw} summary="Output" value=${row.output} />
              <${Raw} summary="Error" value=${row.error} />
              <${Raw} summary="Metadata" value=${row.metadata} />
            <//>
          `
        : error
          ? null
          : html`<div class="placeholder-block" aria-busy="true"><p class="muted">Loading the generation…</p></div>`
    }
  `;
}
