import { useEffect, useRef } from 'preact/hooks';
import { signOut } from './api.ts';
import { html } from './html.ts';
import { EvalsPage } from './pages/evals.ts';
import { GenerationPage } from './pages/generation.ts';
import { GenerationsPage } from './pages/generations.ts';
import { JobsPage } from './pages/jobs.ts';
import { NotFoundPage } from './pages/not-found.ts';
import { OverviewPage } from './pages/overview.ts';
import { ProvidersPage } from './pages/providers.ts';
import { RolloutsPage } from './pages/rollouts.ts';
import { SignInPage } from './pages/sign-in.ts';
import { BASE, type Location, useLocation } from './router.ts';
import { readToken } from './session.ts';

const NAVIGATION = [
  { path: BASE, label: 'Overview' },
  { path: `${BASE}/generations`, label: 'Generations' },
  { path: `${BASE}/jobs`, label: 'Jobs' },
  { path: `${BASE}/providers`, label: 'Providers' },
  { path: `${BASE}/evals`, label: 'Evals' },
  { path: `${BASE}/rollouts`, label: 'Rollouts' },
] as const;

const PAGES: Record<string, (props: { location: Location }) => unknown> = {
  [BASE]: OverviewPage,
  [`${BASE}/generations`]: GenerationsPage,
  [`${BASE}/jobs`]: JobsPage,
  [`${BASE}/providers`]: ProvidersPage,
  [`${BASE}/evals`]: EvalsPage,
  [`${BASE}/rollouts`]: RolloutsPage,
};

const GENERATION = new RegExp(`^${BASE}/generations/([^/]+)$`);

function pageFor(location: Location) {
  const path = location.path.length > 1 ? location.path.replace(/\/$/, '') : location.path;
  const page = PAGES[path];
  if (page) return html`<${page} location=${location} />`;
  const requestId = decoded(GENERATION.exec(path)?.[1]);
  if (requestId) return html`<${GenerationPage} requestId=${requestId} />`;
  return html`<${NotFoundPage} />`;
}

/** A path segment as it was meant; undefined for a malformed escape (`%zz`). */
function decoded(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Which navigation entry the path belongs to (a generation's detail belongs to Generations). */
function sectionOf(path: string): string {
  let best: string = BASE;
  for (const { path: candidate } of NAVIGATION) {
    if (path === candidate || path.startsWith(`${candidate}/`)) {
      if (candidate.length > best.length) best = candidate;
    }
  }
  return best;
}

/** The console: the sign-in page, or the pages behind the navigation once signed in. */
export function App() {
  const location = useLocation();
  const signingIn = location.path === `${BASE}/sign-in`;
  const signedIn = readToken() !== undefined;
  const firstRender = useRef(true);

  useEffect(() => {
    if (!signedIn && !signingIn) signOut();
  }, [signedIn, signingIn]);

  // After moving to another page, start reading (and tabbing) at its heading, as a full page
  // load would; the first load leaves focus where the browser puts it.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [location.path]);

  if (signingIn) return html`<${SignInPage} location=${location} />`;
  if (!signedIn) return null;
  const current = sectionOf(location.path);
  return html`
    <a class="skip-link" href="#main">Skip to content</a>
    <header class="top-bar">
      <a class="brand" href=${BASE}>genloop <span>console</span></a>
      <nav aria-label="Console pages">
        <ul>
          ${NAVIGATION.map(
            ({ path, label }) => html`
              <li key=${path}>
                <a class="nav-link" href=${path} aria-current=${path === current ? 'page' : undefined}>${label}</a>
              </li>
            `,
          )}
        </ul>
      </nav>
      <button type="button" class="quiet" onClick=${() => signOut('You signed out.')}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${pageFor(location)}</main>
  `;
}
