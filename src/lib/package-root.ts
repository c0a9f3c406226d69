import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Set by the esbuild `define` of a bundle (bin/load-cli.js): the package folder, absolute for
 * the CLI bundle a clone builds under node_modules/.cache, relative to the bundle's own folder
 * for the dist/ of an installed package, which cannot know where it will be installed.
 * Undefined when the sources run as they are (tsx, vitest).
 */
declare const GENLOOP_PACKAGE_ROOT: string | undefined;

/** Whether this code runs from a bundle (dist/ or the CLI cache) rather than from the sources. */
export const BUNDLED = typeof GENLOOP_PACKAGE_ROOT === 'string';

/** genloop's package folder, where supabase/migrations and db/overlays are read from. */
export const PACKAGE_ROOT: string = BUNDLED
  ? // Every file of a bundle sits flat in its folder, so this module's folder is the bundle's.
    resolve(fileURLToPath(new URL('.', import.meta.url)), GENLOOP_PACKAGE_ROOT!)
  : fileURLToPath(new URL('../../', import.meta.url));
