import { fileURLToPath } from 'node:url';

/**
 * Set by bin/load-cli.js (esbuild `define`) when the CLI runs from its bundle, whose files live
 * elsewhere than the sources; undefined when the sources run as they are (tsx, vitest).
 */
declare const GENLOOP_PACKAGE_ROOT: string | undefined;

/** Whether this code runs from the CLI bundle rather than from the TypeScript sources. */
export const BUNDLED = typeof GENLOOP_PACKAGE_ROOT === 'string';

/** genloop's package folder, where supabase/migrations and db/overlays are read from. */
export const PACKAGE_ROOT: string = BUNDLED
  ? GENLOOP_PACKAGE_ROOT!
  : fileURLToPath(new URL('../../', import.meta.url));
