import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { html } from '../html.ts';

/**
 * A page's heading and the browser tab's title. `actions` sit beside the heading (selectors that
 * apply to the whole page).
 */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · genloop console`;
  }, [title]);
  return html`
    <div class="page-header">
      <h1 tabindex="-1">${title}</h1>
      ${children ? html`<div class="page-actions">${children}</div>` : null}
    </div>
  `;
}

/** A titled part of a page. */
export function Section({
  title,
  id,
  children,
}: {
  title: string;
  id: string;
  children: ComponentChildren;
}) {
  return html`
    <section class="section" aria-labelledby=${id}>
      <h2 id=${id}>${title}</h2>
      ${children}
    </section>
  `;
}
