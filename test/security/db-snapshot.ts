import type { Queryable } from '../../src/db/types.ts';

/** Per table of schema public: how many rows, and a hash of their contents. */
export type TableSnapshot = Record<string, { rows: number; hash: string }>;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Snapshots every base table of schema public in one statement: its row count and the sum of
 * a hash of each row's text, so an update that keeps the count is seen too. The tables are
 * listed from information_schema once, when the snapshotter is made, so a table added by a
 * migration is covered without anyone having to name it.
 */
export async function tableSnapshotter(db: Queryable): Promise<() => Promise<TableSnapshot>> {
  const { rows: tables } = await db.query<{ table_name: string }>(
    `select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'
      order by table_name`,
  );
  if (tables.length === 0) throw new Error('schema public has no tables to watch');
  const sql = tables
    .map(
      ({ table_name: name }) =>
        `select '${name.replaceAll("'", "''")}' as name, count(*)::int as rows,
                coalesce(sum(hashtext(t::text)::bigint), 0)::text as hash
           from public.${quote(name)} as t`,
    )
    .join('\nunion all\n');
  return async () => {
    const { rows } = await db.query<{ name: string; rows: number; hash: string }>(sql);
    return Object.fromEntries(rows.map((row) => [row.name, { rows: row.rows, hash: row.hash }]));
  };
}

/** The tables whose rows differ between two snapshots, with their counts before and after. */
export function changedTables(before: TableSnapshot, after: TableSnapshot): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter(
      (name) =>
        before[name]?.rows !== after[name]?.rows || before[name]?.hash !== after[name]?.hash,
    )
    .map((name) => `${name} (${before[name]?.rows ?? 0} → ${after[name]?.rows ?? 0} rows)`);
}

/**
 * Everything one user owns, as text per table: every row of each public table with a
 * `user_id` column that belongs to the user, in a stable order.
 */
export async function userRowsSnapshotter(
  db: Queryable,
): Promise<(userId: string) => Promise<Record<string, string[]>>> {
  const { rows: tables } = await db.query<{ table_name: string }>(
    `select c.table_name from information_schema.columns c
       join information_schema.tables t using (table_schema, table_name)
      where c.table_schema = 'public' and c.column_name = 'user_id' and t.table_type = 'BASE TABLE'
      order by c.table_name`,
  );
  if (tables.length === 0) throw new Error('no table of schema public has a user_id column');
  const sql = tables
    .map(
      ({ table_name: name }) =>
        `select '${name.replaceAll("'", "''")}' as name, t::text as row
           from public.${quote(name)} as t where t.user_id = $1`,
    )
    .join('\nunion all\n');
  return async (userId) => {
    const { rows } = await db.query<{ name: string; row: string }>(`${sql} order by 1, 2`, [
      userId,
    ]);
    const out: Record<string, string[]> = {};
    for (const row of rows) {
      out[row.name] ??= [];
      out[row.name]!.push(row.row);
    }
    return out;
  };
}
