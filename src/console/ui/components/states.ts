import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.ts';
import { html } from '../html.ts';

/** The API's refusal or failure, in its own words, announced to screen readers. */
export function ErrorNote({
  error,
  action,
  hint,
}: {
  error: ApiError | undefined;
  action?: string;
  /** What to do about it, when the page knows better than the API's words. */
  hint?: string | undefined;
}) {
  if (!error) return null;
  return html`
    <div class="note note-error" role="alert">
      <strong>${action ? `${action} failed` : 'Could not load this'}${error.status ? ` (${error.status})` : ''}:</strong>
      ${' '}${error.message}
      ${
        error.fields.length > 0
          ? html`<ul>${error.fields.map((field) => html`<li key=${field.field}><code>${field.field}</code>: ${field.message}</li>`)}</ul>`
          : null
      }
      ${hint ? html`<p>${hint}</p>` : null}
      ${error.status >= 500 && error.requestId ? html`<p class="small">Request id <code>${error.requestId}</code> (in the server log).</p>` : null}
    </div>
  `;
}

/** A result that went through, said politely to screen readers. */
export function SuccessNote({ children }: { children: ComponentChildren }) {
  return html`<div class="note note-ok" role="status">${children}</div>`;
}

/** What an empty list means and what to do about it. */
export function Empty({ children }: { children: ComponentChildren }) {
  return html`<div class="empty">${children}</div>`;
}

/**
 * Rows of a table whose data is on its way, the height of the rows to come, so the page does
 * not move when they arrive.
 */
export function PlaceholderRows({ columns, rows = 5 }: { columns: number; rows?: number }) {
  return Array.from(
    { length: rows },
    (_, row) => html`
      <tr key=${row} class="placeholder" aria-hidden="true">
        ${Array.from({ length: columns }, (_, column) => html`<td key=${column}><span></span></td>`)}
      </tr>
    `,
  );
}

/** A word from a fixed set (status, verdict, outcome), coloured by what it means. */
export function Badge({ value, tone }: { value: string | null | undefined; tone?: Tone }) {
  if (value === null || value === undefined) return html`<span class="badge">—</span>`;
  return html`<span class=${`badge badge-${tone ?? toneOf(value)}`}>${value.replaceAll('_', ' ')}</span>`;
}

export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

const TONES: Record<string, Tone> = {
  succeeded: 'good',
  success: 'good',
  ok: 'good',
  passed: 'good',
  pass: 'good',
  healthy: 'good',
  enabled: 'good',
  promoted: 'good',
  failed: 'bad',
  failure: 'bad',
  error: 'bad',
  fail: 'bad',
  timed_out: 'bad',
  rolled_back: 'bad',
  cooling_down: 'warn',
  cooldown: 'warn',
  pending: 'warn',
  running: 'warn',
  waiting: 'warn',
  inconclusive: 'warn',
  halted: 'warn',
};

function toneOf(value: string): Tone {
  return TONES[value.toLowerCase()] ?? 'neutral';
}
