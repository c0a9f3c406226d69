/** The same server as `url`, connected to its maintenance database (for create/drop database). */
export function adminUrl(url: string): string {
  return databaseUrlFor(url, 'postgres');
}

/** `url` pointed at another database on the same server. */
export function databaseUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** One template per test run, so concurrent runs on one server do not collide. */
export function templateDatabaseName(): string {
  return `genloop_template_${process.pid}`;
}
