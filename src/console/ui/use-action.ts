import { useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export interface Action<Args extends unknown[]> {
  run(...args: Args): Promise<void>;
  busy: boolean;
  /** What the last run achieved, in words for the operator. */
  done: string | undefined;
  error: ApiError | undefined;
  /** Which run is busy or reported last (a row's key), so the right row shows it. */
  subject: string | undefined;
}

/**
 * A button's call to the API: busy while it runs, then its outcome as a sentence or the API's
 * refusal. `perform` returns the sentence.
 */
export function useAction<Args extends unknown[]>(
  perform: (...args: Args) => Promise<string>,
  subjectOf: (...args: Args) => string = () => '',
): Action<Args> {
  const [state, setState] = useState<{
    busy: boolean;
    done?: string;
    error?: ApiError;
    subject?: string;
  }>({ busy: false });
  return {
    busy: state.busy,
    done: state.done,
    error: state.error,
    subject: state.subject,
    async run(...args: Args) {
      const subject = subjectOf(...args);
      setState({ busy: true, subject });
      try {
        const done = await perform(...args);
        setState({ busy: false, done, subject });
      } catch (error) {
        const failure =
          error instanceof ApiError ? error : new ApiError(0, 'The action failed unexpectedly.');
        setState({ busy: false, error: failure, subject });
      }
    },
  };
}
