/** The fields Postgres sends with an error (the same for node-postgres and PGlite). */
const FIELDS = [
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'severity',
  'routine',
] as const;

type Field = (typeof FIELDS)[number];

/**
 * A database error with every field Postgres sent copied over, and the stack of the call site
 * that ran the query (the driver's own stack is kept as `cause`).
 */
export class DbError extends Error {
  override readonly name = 'DbError';
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly position: string | undefined;
  readonly internalPosition: string | undefined;
  readonly internalQuery: string | undefined;
  readonly where: string | undefined;
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly dataType: string | undefined;
  readonly constraint: string | undefined;
  readonly severity: string | undefined;
  readonly routine: string | undefined;
  readonly query: string;

  constructor(source: unknown, query: string, callSite: { stack?: string | undefined }) {
    const message = source instanceof Error ? source.message : String(source);
    super(message, { cause: source });
    const fields = (source ?? {}) as Partial<Record<Field, unknown>>;
    const copy = (key: Field) => (fields[key] === undefined ? undefined : String(fields[key]));
    this.code = copy('code');
    this.detail = copy('detail');
    this.hint = copy('hint');
    this.position = copy('position');
    this.internalPosition = copy('internalPosition');
    this.internalQuery = copy('internalQuery');
    this.where = copy('where');
    this.schema = copy('schema');
    this.table = copy('table');
    this.column = copy('column');
    this.dataType = copy('dataType');
    this.constraint = copy('constraint');
    this.severity = copy('severity');
    this.routine = copy('routine');
    this.query = query;
    if (callSite.stack)
      this.stack = `${this.name}: ${message}\n${callSite.stack.split('\n').slice(1).join('\n')}`;
  }
}

/** SQLSTATE codes genloop reacts to. */
export const PG = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  foreignKeyViolation: '23503',
  notNullViolation: '23502',
  insufficientPrivilege: '42501',
  lockNotAvailable: '55P03',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  undefinedTable: '42P01',
  invalidTextRepresentation: '22P02',
} as const;

/** True when `error` is a {@link DbError} with the given SQLSTATE. */
export function isPgError(error: unknown, code: string): error is DbError {
  return error instanceof DbError && error.code === code;
}

/**
 * SQLSTATEs that mean the connection, not the statement, failed: the whole class 08 (connection
 * exception), the server shutting down or terminating the backend (57P01-57P03, which a pooler
 * restart or `pg_terminate_backend` produces), and too many connections (53300).
 */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Socket errors a dropped or refused database connection surfaces as. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * True when `error` says the database could not be reached or dropped the connection (a pooler
 * or server restart, a terminated backend, a network cut), as opposed to a statement that
 * failed. Such a request changed nothing (its transaction rolled back with the connection) and
 * may be retried as it was, so it is answered 503 rather than as a bug.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || CONNECTION_SQLSTATES.has(code) || SOCKET_CODES.has(code)) {
      return true;
    }
  }
  // node-postgres reports a socket that closed mid-query without a code.
  return /^Connection terminated|connection error and is not queryable|Client was closed/i.test(
    error.message,
  );
}
