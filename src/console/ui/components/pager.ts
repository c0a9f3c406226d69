import { html } from '../html.ts';
import type { Location } from '../router.ts';

/** Earlier pages' cursors in the address; keyset cursors are base64url, which has no dot. */
const SEPARATOR = '.';
/** Enough to page back through a long session without an address that grows without bound. */
const MAX_REMEMBERED = 20;

/** The page the address asks for: its cursor (none for the first page). */
export function cursorOf(location: Location): string | undefined {
  return location.query.get('cursor') || undefined;
}

function link(location: Location, cursor: string | undefined, previous: string[]): string {
  const query = new URLSearchParams(location.query);
  query.delete('cursor');
  query.delete('prev');
  if (cursor) query.set('cursor', cursor);
  if (cursor && previous.some(Boolean)) query.set('prev', previous.join(SEPARATOR));
  const search = query.toString();
  return search ? `${location.path}?${search}` : location.path;
}

/**
 * Previous and Next links over a keyset-paged list. The API only pages forward, so the address
 * keeps the cursors of the pages before this one: Previous goes back exactly, and a copied
 * link reopens the same page with the same way back.
 */
export function Pager({
  location,
  nextCursor,
  label,
  live = false,
}: {
  location: Location;
  nextCursor: string | null | undefined;
  label: string;
  /** Say that the first page follows new rows by itself. */
  live?: boolean;
}) {
  const cursor = cursorOf(location);
  const previous = (location.query.get('prev') ?? '').split(SEPARATOR).filter(Boolean);
  const back = cursor ? link(location, previous.at(-1), previous.slice(0, -1)) : undefined;
  const forward = nextCursor
    ? link(location, nextCursor, [...previous, cursor ?? ''].slice(-MAX_REMEMBERED))
    : undefined;
  return html`
    <nav class="pager" aria-label=${label}>
      ${back ? html`<a href=${back} rel="prev">← Previous</a>` : html`<span class="disabled" aria-disabled="true">← Previous</span>`}
      ${live && !cursor ? html`<span class="muted small">newest first, updates live</span>` : null}
      ${forward ? html`<a href=${forward} rel="next">Next →</a>` : html`<span class="disabled" aria-disabled="true">Next →</span>`}
    </nav>
  `;
}
