const KEY = 'genloop.console.token';

/**
 * The access token of this tab. Kept in sessionStorage: it survives a reload but not the tab,
 * and other tabs and sites never see it. Reading storage can throw when the browser blocks it;
 * the console then behaves as signed out.
 */
export function readToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing was stored.
  }
}
