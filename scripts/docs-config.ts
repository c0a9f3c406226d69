/**
 * Regenerates the settings tables of docs/configuration.md from the settings table
 * (src/config/settings.ts); the prose around them is kept. A test (src/config/docs.test.ts)
 * fails when the committed page differs from what this writes.
 *
 * Usage: npx tsx scripts/docs-config.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIGURATION_DOC, renderConfigurationDoc } from '../src/config/docs.ts';

const current = readFileSync(CONFIGURATION_DOC, 'utf8');
const next = renderConfigurationDoc(current);
if (next === current) {
  process.stdout.write(`${CONFIGURATION_DOC} is up to date\n`);
} else {
  writeFileSync(CONFIGURATION_DOC, next);
  process.stdout.write(`wrote ${CONFIGURATION_DOC}\n`);
}
