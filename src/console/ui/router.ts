import { useEffect, useState } from 'preact/hooks';

/** Where the console lives; every page path starts with it. */
export const BASE = '/console';

export interface Location {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

function notify(): void {
  for (const listener of listeners) listener();
}

/** Goes to a console page without reloading; `replace` keeps the history entry count. */
export function navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  notify();
  if (!replace) window.scrollTo(0, 0);
}

/** The current path and query; the component renders again when either changes. */
export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return location;
}

/** A console path with a query, leaving out empty values. */
export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, value);
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/**
 * Makes the back and forward buttons and every plain click on a console link move between
 * pages in place. Links stay real `<a href>` elements, so they work with the keyboard, open in
 * a new tab with a modifier key, and can be copied.
 */
export function startRouting(): void {
  window.addEventListener('popstate', notify);
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target.closest('a') : null;
    if (!target || target.target || target.hasAttribute('download')) return;
    const url = new URL(target.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return;
    if (url.pathname.startsWith(`${BASE}/assets/`)) return;
    // An in-page anchor (the skip link) is the browser's to follow.
    const samePage =
      url.pathname === window.location.pathname && url.search === window.location.search;
    if (url.hash && samePage) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
