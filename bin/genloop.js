#!/usr/bin/env node
// genloop's command line. An installed package runs its build (dist/, made by `npm run build`
// before packing). A clone runs its TypeScript sources: bin/load-cli.js bundles them, or loads
// them through tsx, so a fresh clone runs after `npm ci` without a build step. A clone that has
// been built still runs its sources, so that an edit is never shadowed by a stale dist/; the
// package ships no src/, which is how the two are told apart.
import { existsSync } from 'node:fs';

const installed =
  existsSync(new URL('../dist/main.mjs', import.meta.url)) &&
  !existsSync(new URL('../src', import.meta.url));
const { main } = installed
  ? await import('../dist/main.mjs')
  : await (await import('./load-cli.js')).loadCli();
process.exitCode = await main(process.argv.slice(2));
