/**
 * Quotes an SQL identifier (a channel, table or role name). Values never go through here: they
 * are always `$n` parameters; this is the only way a name built at run time enters SQL.
 */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new TypeError('an SQL identifier cannot contain NUL');
  return `"${name.replaceAll('"', '""')}"`;
}
