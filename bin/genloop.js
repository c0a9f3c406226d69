#!/usr/bin/env node
// genloop's command line. The sources are TypeScript, loaded through tsx so that a fresh clone
// runs after `npm ci` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
