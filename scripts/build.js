// Builds the installable package into dist/ (run by `npm run build` and `prepack`): one esbuild
// bundle of the CLI, the eval worker thread and the two library entry points, the assets of the
// API reference, the operator console's browser bundle, and the type declarations of the library
// entry points. A clone does not need it: bin/genloop.js runs the sources there
// (bin/load-cli.js), and the console bundles its sources on first request.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { bundleOptions, ENTRY_POINTS } from '../bin/load-cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
await build(
  bundleOptions({
    outdir: DIST,
    // dist/ sits in the package folder wherever the package is installed.
    packageRoot: '..',
    entryPoints: {
      ...ENTRY_POINTS,
      runtime: 'src/runtime.ts',
      client: 'src/client/index.ts',
    },
  }),
);
const require = createRequire(import.meta.url);

// The assets of the API reference at /docs (src/http/routes/docs.ts), with their licence.
const swaggerUi = dirname(require.resolve('swagger-ui-dist/package.json'));
mkdirSync(join(DIST, 'swagger-ui'));
for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js', 'LICENSE', 'NOTICE']) {
  cpSync(join(swaggerUi, file), join(DIST, 'swagger-ui', file));
}

// The console's script and stylesheet, minified and named by content hash (the same build a
// clone makes in memory), with the manifest the server finds them by.
const { writePrebuiltBundle } = await tsImport('../src/console/assets.ts', import.meta.url);
await writePrebuiltBundle(ROOT);

const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
