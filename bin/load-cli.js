// Loads genloop's command line (src/cli/main.ts) for bin/genloop.js.
//
// The sources are TypeScript and a fresh clone runs them without a build step. The first run
// after a change bundles them with esbuild into node_modules/.cache/genloop/cli-<fingerprint>/
// (dependencies stay plain imports from node_modules); every later run imports that bundle.
// Loading a few bundled files starts about twice as fast as loading ~190 modules one by one
// through tsx's loader thread, and the eval worker threads are spared the same cost
// (bench/eval). The fingerprint covers the path, size and modification time of every source
// file, so an edit is picked up by the next run; stack traces map back to the sources.
//
// When the bundle cannot be built or loaded (a read-only install, an esbuild failure) or
// GENLOOP_CLI_BUNDLE=0 asks for it, the sources are loaded through tsx instead.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = join(ROOT, 'src');
const DEFAULT_CACHE = join(ROOT, 'node_modules', '.cache', 'genloop');
/** Bundles unused for this long are removed when a new one is built. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** The bundle's entry points: the CLI and the worker thread of parallel eval runs. */
export const ENTRY_POINTS = { main: 'src/cli/main.ts', 'scan-thread': 'src/eval/scan-thread.ts' };

/**
 * The esbuild options of a bundle of the sources into `outdir`, shared with the package build
 * (scripts/build.js) so a clone and an installed package run the same code. `packageRoot` is
 * where supabase/migrations and db/overlays are read from: an absolute path, or one relative to
 * `outdir` (src/lib/package-root.ts). All files land flat in `outdir`, which both rely on.
 */
export function bundleOptions({ outdir, packageRoot, entryPoints = ENTRY_POINTS }) {
  return {
    absWorkingDir: ROOT,
    entryPoints,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    define: { GENLOOP_PACKAGE_ROOT: JSON.stringify(packageRoot) },
    logLevel: 'silent',
  };
}

/**
 * The CLI module (`{ main }`). `env.GENLOOP_CLI_CACHE` moves the bundle folder; it must stay
 * inside the project so that the bundle's imports resolve from its node_modules.
 */
export async function loadCli(env = process.env) {
  if (env.GENLOOP_CLI_BUNDLE !== '0') {
    try {
      const dir = await bundle(resolve(env.GENLOOP_CLI_CACHE || DEFAULT_CACHE));
      process.setSourceMapsEnabled(true);
      return await import(pathToFileURL(join(dir, 'main.mjs')).href);
    } catch (error) {
      if (env.GENLOOP_CLI_BUNDLE === '1') throw error;
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/cli/main.ts');
}

/** The folder holding the bundle of the current sources, built when missing. */
async function bundle(cache) {
  const dir = join(cache, `cli-${fingerprint()}`);
  if (existsSync(join(dir, 'main.mjs'))) {
    // The folder's mtime says when it was last used (see removeStaleBundles).
    const now = new Date();
    utimesSync(dir, now, now);
    return dir;
  }

  const { build } = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  const building = `${dir}.${process.pid}.tmp`;
  await build({ ...bundleOptions({ outdir: building, packageRoot: ROOT }), sourcemap: true });
  try {
    renameSync(building, dir);
  } catch (error) {
    // Another run built the same bundle first: use that one.
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(join(dir, 'main.mjs'))) throw error;
  }
  removeStaleBundles(cache, dir);
  return dir;
}

/** A hash of the project folder, this file and every source file's path, size and mtime. */
function fingerprint() {
  const hash = createHash('sha256').update(ROOT);
  const self = statSync(fileURLToPath(import.meta.url));
  hash.update(`${self.size}:${self.mtimeMs}\n`);
  const files = readdirSync(SOURCES, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) {
    const stats = statSync(file);
    hash.update(`${relative(SOURCES, file)}:${stats.size}:${stats.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

function removeStaleBundles(cache, current) {
  const now = Date.now();
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (path === current || !name.startsWith('cli-')) continue;
    try {
      if (now - statSync(path).mtimeMs > STALE_AFTER_MS) {
        rmSync(path, { recursive: true, force: true });
      }
    } catch {
      // Removed by another run meanwhile.
    }
  }
}
