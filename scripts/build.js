// Builds the installable package into dist/ (run by `npm run build` and `prepack`): one esbuild
// bundle of the CLI, the eval worker thread and the two library entry points, the assets of the
// API reference, and the type declarations of the library entry points. A clone does not need
// it: bin/genloop.js runs the sources there (bin/load-cli.js).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
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

const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
