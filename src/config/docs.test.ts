import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, DOCS_COMMAND, renderConfigurationDoc } from './docs.ts';

describe('docs/configuration.md', () => {
  it('lists every setting as the settings table declares it', () => {
    const committed = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(
      renderConfigurationDoc(committed) === committed,
      `docs/configuration.md differs from the settings table; run ${DOCS_COMMAND}`,
    ).toBe(true);
  });

  it('keeps the prose around the generated tables', () => {
    const doc =
      '# Title\n\nBefore.\n\n<!-- settings:begin jobs -->\nstale\n<!-- settings:end -->\n\nAfter.\n';
    const rendered = renderConfigurationDoc(
      `${doc}${['server', 'auth', 'browsers', 'providers', 'storage']
        .map((section) => `<!-- settings:begin ${section} -->\n<!-- settings:end -->\n`)
        .join('')}`,
    );
    expect(rendered.startsWith('# Title\n\nBefore.\n\n<!-- settings:begin jobs -->\n\n|')).toBe(
      true,
    );
    expect(rendered).toContain('| `GENLOOP_JOB_LEASE_MS`');
    expect(rendered).toContain('<!-- settings:end -->\n\nAfter.\n');
    expect(rendered).not.toContain('stale');
  });

  it('refuses a page that leaves a section out or names one the table does not have', () => {
    expect(() =>
      renderConfigurationDoc('<!-- settings:begin jobs -->\n<!-- settings:end -->'),
    ).toThrow(/no <!-- settings:begin server --> block/);
    expect(() =>
      renderConfigurationDoc('<!-- settings:begin nowhere -->\n<!-- settings:end -->'),
    ).toThrow(/"nowhere" is not a section/);
  });
});
