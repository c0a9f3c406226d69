/** Prints rows as an aligned text table (used by `db status`, `rollout verify`, benchmarks). */
export function formatTable(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(no rows)';
  const keys = columns ?? Object.keys(rows[0]!);
  const cells = rows.map((row) => keys.map((key) => formatCell(row[key])));
  const widths = keys.map((key, index) =>
    Math.max(key.length, ...cells.map((line) => line[index]!.length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return [line(keys), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join(
    '\n',
  );
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
