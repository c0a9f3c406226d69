import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Rows of Markdown tables whose cell count differs from their header's. A `|` inside a code span
 * still ends a cell in GitHub's Markdown unless it is escaped, so a row such as
 * `` | `--flag a|b` | … `` renders with cells that spill past the table's columns; the formatter
 * then pads the stray cells and hides the damage in the source.
 */
function misshapenTableRows(markdown: string): { line: number; expected: number; found: number }[] {
  const found: { line: number; expected: number; found: number }[] = [];
  let header: number | undefined;
  let fenced = false;
  for (const [index, line] of markdown.split('\n').entries()) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced || !line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const count = line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split(/(?<!\\)\|/).length;
    if (header === undefined) header = count;
    else if (count !== header) found.push({ line: index + 1, expected: header, found: count });
  }
  return found;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => join('docs', file));
  return ['README.md', 'SECURITY.md', ...docs];
}

describe('Markdown tables', () => {
  it('finds a row whose code span splits it into extra cells, and none in a sound table', () => {
    const broken = [
      '| flag | meaning |',
      '| --- | --- |',
      '| `--result passed|failed` | the outcome |',
      '| `--ok` | fine, with an escaped `a\\|b` |',
    ].join('\n');
    expect(misshapenTableRows(broken)).toEqual([{ line: 3, expected: 2, found: 3 }]);
    const fencedRows = ['```', '| a | b |', '| c |', '```'].join('\n');
    expect(misshapenTableRows(fencedRows)).toEqual([]);
  });

  it('every table in the README and docs has as many cells in each row as in its header', () => {
    const files = markdownFiles();
    expect(files.length).toBeGreaterThan(10);
    const problems = files.flatMap((file) =>
      misshapenTableRows(readFileSync(join(ROOT, file), 'utf8')).map(
        (row) => `${file}:${row.line}: ${row.found} cells where the header has ${row.expected}`,
      ),
    );
    expect(problems).toEqual([]);
  });
});
