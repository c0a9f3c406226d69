import { useEffect, useRef, useState } from 'preact/hooks';
import type { Environments, SignInResult } from '../../contract.ts';
import { ADMIN, ApiError, request, takeSignInNotice } from '../api.ts';
import { ErrorNote } from '../components/states.ts';
import { html } from '../html.ts';
import { BASE, type Location, navigate, withQuery } from '../router.ts';
import { saveToken } from '../session.ts';

/** Where to go after signing in: a console page, never another site nor this page again. */
function destination(next: string | null): string {
  const page = /^\/console(?:[/?]|$)/.test(next ?? '') && !next?.startsWith(`${BASE}/sign-in`);
  return page ? next! : BASE;
}

/** Why a token that verified is still refused, and what works instead. */
function hintFor(error: ApiError | undefined): string | undefined {
  if (error?.status === 403) {
    return "This token belongs to a user and reaches only that user's own data. The console needs the service role: a service-role token or an API key.";
  }
  if (error?.status === 401) return 'Check that the token was copied whole and has not expired.';
  return undefined;
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'Signing in failed unexpectedly.');
}

/**
 * Sign-in: paste a service-role token or an API key, or arrive with the one-time code of the
 * link `genloop serve` prints. The token is checked against the admin API before it is kept,
 * so a user token is refused here with the API's own reason and never reaches a page.
 */
export function SignInPage({ location }: { location: Location }) {
  const next = destination(location.query.get('next'));
  // Read once: the code leaves the address bar before it is exchanged.
  const code = useRef(location.query.get('code')).current;
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [busy, setBusy] = useState(code !== null);
  const [notice] = useState(takeSignInNotice);

  useEffect(() => {
    if (code === null) return;
    // A one-time code grants access: keep it out of the history, bookmarks and screenshots.
    navigate(withQuery(`${BASE}/sign-in`, { next: next === BASE ? undefined : next }), {
      replace: true,
    });
    request<SignInResult>(`${ADMIN}/sign-in`, {
      method: 'POST',
      body: { code },
      keepSession: true,
    }).then(
      (result) => {
        saveToken(result.access_token);
        navigate(next, { replace: true });
      },
      (failure: unknown) => {
        setError(asApiError(failure));
        setBusy(false);
      },
    );
  }, [code, next]);

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError(new ApiError(0, 'Paste an access token first.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await request<Environments>(`${ADMIN}/environments`, { token: value, keepSession: true });
      saveToken(value);
      navigate(next, { replace: true });
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return html`
    <main id="main" class="sign-in" tabindex="-1">
      <h1>Sign in to the genloop console</h1>
      ${notice ? html`<div class="note" role="status">${notice}</div>` : null}
      ${code !== null && busy ? html`<p role="status">Signing you in with the link's one-time code…</p>` : null}
      <${ErrorNote} error=${error} action="Sign-in" hint=${hintFor(error)} />
      <form onSubmit=${submit} novalidate>
        <label for="access-token">Access token</label>
        <input
          id="access-token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck=${false}
          aria-describedby="access-token-help"
          value=${token}
          onInput=${(event: Event) => setToken((event.currentTarget as HTMLInputElement).value)}
        />
        <p id="access-token-help" class="help">
          A service-role token (<code>genloop token --user ${'<uuid>'} --role service_role</code>) or
          one of the keys in <code>GENLOOP_API_KEYS</code>. It stays in this browser tab only.
          In embedded mode, <code>npm start</code> prints a link that signs you in directly.
        </p>
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  `;
}
