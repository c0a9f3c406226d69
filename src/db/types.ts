/** A row as returned by the drivers: column name to parsed value. */
export type Row = Record<string, unknown>;

export interface QueryResult<R extends object = Row> {
  rows: R[];
  rowCount: number;
}

/** Anything that runs parameterised SQL: the database itself or an open transaction. */
export interface Queryable {
  /** Runs one statement; values are always passed as `$n` parameters. */
  query<R extends object = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations, overlays). */
  exec(sql: string): Promise<void>;
}

export type NotificationHandler = (payload: string) => void;

/**
 * genloop's one database interface, with a node-postgres driver (DATABASE_URL) and a PGlite
 * driver (embedded). Callers never see which one they have, except through `driver`.
 */
export interface Db extends Queryable {
  readonly driver: 'pg' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel. On Postgres the listening connection reconnects by itself
   * and `onReconnect` runs after each re-subscription (so callers can poll for anything missed).
   */
  listen(
    channel: string,
    onMessage: NotificationHandler,
    options?: { onReconnect?: () => void },
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
