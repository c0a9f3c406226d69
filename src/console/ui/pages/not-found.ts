import { PageHeader } from '../components/page.ts';
import { html } from '../html.ts';
import { BASE } from '../router.ts';

export function NotFoundPage() {
  return html`
    <${PageHeader} title="Page not found" />
    <p>The console has no page at this address. Go to the <a href=${BASE}>overview</a>.</p>
  `;
}
