#!/usr/bin/env node
// genloop's command line. The sources are TypeScript; bin/load-cli.js runs them from a bundle
// it keeps up to date, or through tsx, so a fresh clone runs after `npm ci` without a build step.
import { loadCli } from './load-cli.js';

const { main } = await loadCli();
process.exitCode = await main(process.argv.slice(2));
