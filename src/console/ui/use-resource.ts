import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, request } from './api.ts';

export interface Resource<T> {
  /** The last answer; kept while the next one loads so the page does not jump. */
  data: T | undefined;
  error: ApiError | undefined;
  /** True until the first answer (or error) for the current path arrives. */
  loading: boolean;
  /** Fetches again now (after an action changed what the page shows). */
  reload(): void;
}

/** How a resource is read: one request by default. */
export type Loader<T> = (path: string, signal: AbortSignal) => Promise<T>;

const requestOnce = <T>(path: string, signal: AbortSignal) => request<T>(path, { signal });

/**
 * Reads `path` from the API (through `load` when given), again whenever the path changes, and
 * every `pollMs` while the tab is visible (a hidden tab costs the server nothing; it catches up
 * as soon as it is shown). `null` reads nothing.
 */
export function useResource<T>(
  path: string | null,
  { pollMs, load: loader = requestOnce }: { pollMs?: number; load?: Loader<T> } = {},
) {
  const [state, setState] = useState<{ path: string | null; data?: T; error?: ApiError }>({
    path: null,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((value) => value + 1), []);

  // `tick` is a dependency only so that reload() starts a fresh read.
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight = false;

    const load = async () => {
      if (inFlight) return;
      inFlight = true;
      try {
        const data = await loader(path, controller.signal);
        if (!controller.signal.aborted) setState({ path, data });
      } catch (error) {
        if (controller.signal.aborted) return;
        const failure =
          error instanceof ApiError ? error : new ApiError(0, 'The answer could not be read.');
        setState((previous) => ({
          path,
          error: failure,
          // A failed refresh keeps what was shown; a failed first read shows the error alone.
          ...(previous.path === path && previous.data !== undefined ? { data: previous.data } : {}),
        }));
      } finally {
        inFlight = false;
        schedule();
      }
    };
    const schedule = () => {
      clearTimeout(timer);
      if (pollMs === undefined || controller.signal.aborted) return;
      if (document.visibilityState === 'visible') timer = setTimeout(load, pollMs);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') void load();
      else clearTimeout(timer);
    };

    void load();
    if (pollMs !== undefined) document.addEventListener('visibilitychange', onVisibility);
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [path, pollMs, tick, loader]);

  const current = state.path === path;
  const resource: Resource<T> = {
    data: state.data,
    error: current ? state.error : undefined,
    loading: !current || (state.data === undefined && state.error === undefined),
    reload,
  };
  return resource;
}
