import { validationFailed } from '../lib/domain-errors.ts';

/** The request and answer header that asks for, and reports on, the response cache. */
export const CACHE_HEADER = 'x-genloop-cache';

/** Answer header saying why a request for the semantic cache was looked up exactly only. */
export const SEMANTIC_HEADER = 'x-genloop-cache-semantic';

/** What `x-genloop-cache` may ask for. */
export type CacheMode = 'off' | 'exact' | 'semantic';

/**
 * `x-genloop-cache` is `off`, `exact`, `semantic`, `exact; force` or `semantic; force` (case and
 * spaces do not matter); absent, the configured default applies. Anything else is a 400 naming
 * the header.
 */
export function parseCacheHeader(
  value: string | undefined,
  fallback: CacheMode,
): { mode: CacheMode; force: boolean } {
  if (value === undefined) return { mode: fallback, force: false };
  const [mode, ...params] = value
    .toLowerCase()
    .split(';')
    .map((part) => part.trim());
  const force = params.length === 1 && params[0] === 'force';
  if (mode === 'off' && params.length === 0) return { mode: 'off', force: false };
  if ((mode === 'exact' || mode === 'semantic') && (params.length === 0 || force)) {
    return { mode, force };
  }
  throw validationFailed([
    {
      field: `header.${CACHE_HEADER}`,
      code: 'invalid_value',
      message: 'expected "exact", "semantic", "exact; force", "semantic; force" or "off"',
    },
  ]);
}
