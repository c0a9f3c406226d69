import { fileURLToPath } from 'node:url';
import { type AnySetting, derived, forEachSetting } from './setting.ts';
import { settings } from './settings.ts';

/** The page whose settings tables are generated from the settings table. */
export const CONFIGURATION_DOC = fileURLToPath(
  new URL('../../docs/configuration.md', import.meta.url),
);

/** The command that regenerates them, for messages. */
export const DOCS_COMMAND = 'npx tsx scripts/docs-config.ts';

const BLOCK = /<!-- settings:begin (\S+) -->\n[\s\S]*?<!-- settings:end -->/g;

/**
 * `doc` with the table between each `<!-- settings:begin <section> -->` and
 * `<!-- settings:end -->` regenerated from the settings of that section; the prose around the
 * markers is kept. Throws when a section has no markers, so no setting goes undocumented.
 */
export function renderConfigurationDoc(doc: string): string {
  const bySection = new Map<string, AnySetting[]>();
  forEachSetting(settings, (setting) => {
    bySection.set(setting.section, [...(bySection.get(setting.section) ?? []), setting]);
  });
  const rendered = new Set<string>();
  const output = doc.replace(BLOCK, (_block, section: string) => {
    const rows = bySection.get(section);
    if (rows === undefined || rendered.has(section)) {
      throw new Error(`docs: "${section}" is not a section of the settings table, or is repeated`);
    }
    rendered.add(section);
    return `<!-- settings:begin ${section} -->\n\n${settingsTable(rows)}\n<!-- settings:end -->`;
  });
  const missing = [...bySection.keys()].filter((section) => !rendered.has(section));
  if (missing.length > 0) {
    throw new Error(
      `docs: no <!-- settings:begin ${missing[0]} --> block for the settings of section "${missing[0]}"`,
    );
  }
  return output;
}

/** The markdown table of `rows`, columns padded the way Prettier pads them. */
export function settingsTable(rows: readonly AnySetting[]): string {
  const header = ['variable', 'config key', 'meaning', 'accepts', 'default'];
  const cells = rows.map((setting) =>
    [
      setting.names.map((name) => `\`${name}\``).join(', else '),
      setting.file === undefined ? '—' : `\`${setting.file}\``,
      setting.description,
      setting.codec.accepts,
      defaultCell(setting),
    ].map((cell) => cell.replaceAll('|', '\\|')),
  );
  const widths = header.map((title, column) =>
    Math.max(3, title.length, ...cells.map((row) => row[column]!.length)),
  );
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |\n`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join(
    '',
  );
}

function defaultCell(setting: AnySetting): string {
  if (setting.defaultText !== undefined) return setting.defaultText;
  if (setting.default === derived) {
    throw new Error(`docs: ${setting.names[0]} has a derived default but no defaultText`);
  }
  return setting.default === undefined ? '—' : setting.codec.show(setting.default);
}
