import pg from 'pg';
import { toError } from '../lib/errors.ts';
import { DbError } from './errors.ts';
import { quoteIdent } from './ident.ts';
import type { Db, NotificationHandler, Queryable, QueryResult } from './types.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** int8 and numeric come back as numbers, as they do from the PGlite driver. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PgDriverOptions {
  connectionString: string;
  max?: number;
  /** Called with errors of idle pooled connections (a killed backend, a restart). */
  onIdleError?: (error: Error) => void;
  applicationName?: string;
  /**
   * Where the LISTEN connection goes (default: `connectionString`). A transaction-mode pooler
   * hands each transaction any server connection, so LISTEN needs a direct one.
   */
  listenConnectionString?: string | undefined;
}

/** The node-postgres driver: a pool for queries and one dedicated connection for LISTEN. */
export function createPgDb(options: PgDriverOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'genloop',
    types,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  const listener = new Listener(options);

  const db: Db = {
    driver: 'pg',
    query: (text, params) => runQuery(pool, text, params),
    exec: async (sql) => {
      await runQuery(pool, sql);
    },
    async transaction(fn) {
      const client = await connect(pool);
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
      try {
        await runQuery(client, 'begin');
        const tx: Queryable = {
          query: (text, params) => runQuery(client, text, params),
          exec: async (sql) => {
            await runQuery(client, sql);
          },
        };
        const result = await fn(tx);
        await runQuery(client, 'commit');
        return result;
      } catch (error) {
        try {
          await client.query('rollback');
        } catch (rollbackError) {
          broken ??= toError(rollbackError);
        }
        throw error;
      } finally {
        // Pooled clients live long: a listener left behind per transaction would pile up.
        client.off('error', onError);
        // A connection that failed mid-transaction is destroyed rather than reused.
        client.release(broken);
      }
    },
    listen: (channel, onMessage, listenOptions) =>
      listener.add(channel, onMessage, listenOptions?.onReconnect),
    async close() {
      await listener.close();
      await pool.end();
    },
  };
  return db;
}

async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  const callSite = new Error();
  try {
    return await pool.connect();
  } catch (error) {
    throw new DbError(error, '(connect)', callSite);
  }
}

async function runQuery<R extends object>(
  target: pg.Pool | pg.PoolClient | pg.Client,
  text: string,
  params?: readonly unknown[],
): Promise<QueryResult<R>> {
  const callSite = new Error();
  try {
    // node-postgres prepares each parameter itself, a DriverParam through its toPostgres hook.
    const result = await target.query<R>(text, params as unknown[] | undefined);
    // A multi-statement script returns one result per statement; callers use exec for those.
    const last = Array.isArray(result) ? (result.at(-1) as pg.QueryResult<R>) : result;
    return { rows: last?.rows ?? [], rowCount: last?.rowCount ?? 0 };
  } catch (error) {
    throw new DbError(error, text, callSite);
  }
}

interface Subscription {
  onMessage: NotificationHandler;
  onReconnect: (() => void) | undefined;
}

/** One LISTEN connection shared by all subscriptions; reconnects with backoff when it drops. */
class Listener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly channels = new Map<string, Set<Subscription>>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 100;

  constructor(private readonly options: PgDriverOptions) {}

  async add(
    channel: string,
    onMessage: NotificationHandler,
    onReconnect: (() => void) | undefined,
  ): Promise<() => Promise<void>> {
    const subscription: Subscription = { onMessage, onReconnect };
    let set = this.channels.get(channel);
    const isNew = set === undefined;
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(subscription);
    const client = await this.ensureClient();
    if (isNew) await runQuery(client, `listen ${quoteIdent(channel)}`);
    return async () => {
      set.delete(subscription);
      if (set.size === 0 && this.channels.get(channel) === set) {
        this.channels.delete(channel);
        if (this.client)
          await runQuery(this.client, `unlisten ${quoteIdent(channel)}`).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private ensureClient(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.listenConnectionString ?? this.options.connectionString,
      connectionTimeoutMillis: 5_000,
      application_name: `${this.options.applicationName ?? 'genloop'}-listen`,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      for (const subscription of this.channels.get(message.channel) ?? []) {
        subscription.onMessage(message.payload ?? '');
      }
    });
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (error) this.options.onIdleError?.(error);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    this.client = client;
    this.retryDelayMs = 100;
    return client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer || this.channels.size === 0) return;
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = undefined;
      try {
        const client = await this.ensureClient();
        for (const channel of this.channels.keys())
          await runQuery(client, `listen ${quoteIdent(channel)}`);
        for (const set of this.channels.values()) for (const s of set) s.onReconnect?.();
      } catch (error) {
        this.options.onIdleError?.(toError(error));
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5_000);
        this.scheduleReconnect();
      }
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }
}
