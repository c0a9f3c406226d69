import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { type Context, Hono } from 'hono';
import { PACKAGE_ROOT } from '../lib/package-root.ts';

/**
 * The console page's policy: scripts, styles and API calls from genloop itself only, nothing
 * inline (the app keeps no configuration in the page), no frames, no plugins.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The app's entry point, relative to the package folder; only a clone has it. */
const ENTRY = 'src/console/ui/main.ts';
/** Where the package build puts the bundle, relative to the package folder. */
const DIST_FOLDER = 'dist/console';
const MANIFEST = 'manifest.json';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const BANNER =
  '/*! genloop console; bundles preact (MIT), htm (Apache-2.0) and uPlot (MIT, (c) Leon Sorokin) */';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** One file of the bundle; its name carries a hash of its contents. */
export interface ConsoleFile {
  name: string;
  contents: Uint8Array;
}

/** The bundled console: its files and the names of the script and stylesheet the page loads. */
export interface ConsoleBundle {
  script: string;
  style: string;
  files: ConsoleFile[];
}

/**
 * Bundles the console (Preact, htm, uPlot and the pages) with esbuild, in memory: one minified
 * script and one stylesheet, named by their content hash so browsers may keep them for good.
 * The package build writes the result to dist/console; a clone builds it on first request.
 */
export async function buildConsoleBundle({
  root = PACKAGE_ROOT,
  sourcemap = false,
}: {
  root?: string;
  sourcemap?: boolean;
} = {}): Promise<ConsoleBundle> {
  // esbuild is a devDependency: present in a clone and at package build time, never needed by
  // an installed package, which serves the prebuilt files.
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: root,
    entryPoints: { console: ENTRY },
    outdir: 'console-out',
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox111', 'safari16.4'],
    sourcemap: sourcemap ? 'linked' : false,
    write: false,
    logLevel: 'silent',
    // The libraries carry their notices in their packages, not in comments esbuild would keep.
    legalComments: 'none',
    banner: { js: BANNER, css: BANNER },
  });
  const files = result.outputFiles.map((file) => ({
    name: basename(file.path),
    contents: file.contents,
  }));
  const named = (extension: string) => {
    const file = files.find((candidate) => extname(candidate.name) === extension);
    if (!file) throw new Error(`console bundle: esbuild produced no ${extension} file`);
    return file.name;
  };
  return { script: named('.js'), style: named('.css'), files };
}

/**
 * Builds the bundle into the package's dist/console with a manifest naming the page's script
 * and stylesheet; the package build (scripts/build.js) runs it, and an installed package, which
 * has no sources and no esbuild, serves these files.
 */
export async function writePrebuiltBundle(
  root: string = PACKAGE_ROOT,
  folder: string = join(root, DIST_FOLDER),
): Promise<ConsoleBundle> {
  const bundle = await buildConsoleBundle({ root });
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  for (const file of bundle.files) writeFileSync(join(folder, file.name), file.contents);
  const manifest = { script: bundle.script, style: bundle.style };
  writeFileSync(join(folder, MANIFEST), `${JSON.stringify(manifest)}\n`);
  return bundle;
}

/** The prebuilt bundle of an installed package (dist/console). */
function readPrebuiltBundle(root: string): ConsoleBundle {
  const folder = join(root, DIST_FOLDER);
  const { script, style } = JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8')) as {
    script: string;
    style: string;
  };
  const files = [script, style].map((name) => ({
    name,
    contents: readFileSync(join(folder, name)),
  }));
  return { script, style, files };
}

/**
 * A clone serves its sources, bundled when first asked for, so an edit is never shadowed by a
 * stale dist/ (as bin/genloop.js does for the CLI); a package, which ships no src/, serves the
 * bundle its build made.
 */
function loadBundle(root: string): Promise<ConsoleBundle> {
  if (existsSync(join(root, ENTRY))) return buildConsoleBundle({ root, sourcemap: true });
  return Promise.resolve(readPrebuiltBundle(root));
}

function shellPage(bundle: ConsoleBundle): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>genloop console</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/console/assets/${bundle.style}">
  <script type="module" src="/console/assets/${bundle.script}"></script>
</head>
<body>
  <div id="app"><p class="boot">Loading the genloop console…</p></div>
  <noscript>The genloop console needs JavaScript.</noscript>
</body>
</html>`;
}

interface Served {
  shell: string;
  etag: string;
  assets: Map<string, { contents: Uint8Array; type: string }>;
}

/**
 * The console's page and files: the HTML shell for `/console` and every page path under it
 * (the app routes in the browser, so a shared link to any page loads), and the hashed script,
 * stylesheet and source maps under `/console/assets/`, cached for good. The shell is revalidated
 * on every load so a new version is picked up at once. Not part of the OpenAPI document.
 *
 * @example
 * app.route('/', consoleAssetRoutes());
 */
export function consoleAssetRoutes({ root = PACKAGE_ROOT }: { root?: string } = {}) {
  let served: Promise<Served> | undefined;
  const load = () => {
    served ??= loadBundle(root).then(
      (bundle) => {
        const shell = shellPage(bundle);
        const assets = new Map(
          bundle.files.map((file) => [
            file.name,
            { contents: file.contents, type: TYPES[extname(file.name)] ?? 'text/plain' },
          ]),
        );
        const etag = `"${createHash('sha256').update(shell).digest('base64url').slice(0, 16)}"`;
        return { shell, etag, assets };
      },
      (error: unknown) => {
        // Let the next request try again (a syntax error being fixed in a clone, say).
        served = undefined;
        throw error;
      },
    );
    return served;
  };

  const app = new Hono();
  app.get('/console/assets/:file', async (c) => {
    const asset = (await load()).assets.get(c.req.param('file'));
    if (!asset) return c.notFound();
    return c.body(asset.contents as Uint8Array<ArrayBuffer>, 200, {
      'content-type': asset.type,
      'cache-control': IMMUTABLE,
    });
  });
  const shell = async (c: Context) => {
    const { shell, etag } = await load();
    const headers = {
      'cache-control': 'no-cache',
      etag,
      'content-security-policy': CONSOLE_CSP,
    };
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.html(shell, 200, headers);
  };
  app.get('/console', shell);
  app.get('/console/*', shell);
  return app;
}
