import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, freePort, startChild } from './processes.ts';

/** Where Debian's `pgbouncer` package puts the binary (also looked up on PATH). */
const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'];

/** The pgbouncer binary, or undefined when it is not installed. */
export function findPgbouncer(): string | undefined {
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found !== '' ? found : undefined;
}

/** A PgBouncer in transaction mode in front of one Postgres server, started by a benchmark or test. */
export interface Pgbouncer {
  readonly port: number;
  /** `databaseUrl` (a database on the upstream server) rewritten to go through the pooler. */
  url(databaseUrl: string): string;
  /**
   * Stops the pooler at once (SIGTERM: every client and server connection is cut, transactions
   * in flight with them) and starts it again on the same port; resolves once it accepts again.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in transaction mode (Supabase's and most hosted poolers' default) in front of
 * the server `upstreamUrl` points at. Clients log in as anyone; the pooler logs in upstream as
 * that URL's user, which the server trusts. Root cannot run PgBouncer, so as root it drops to
 * the `postgres` user the Debian packages create.
 */
export async function startPgbouncer(
  upstreamUrl: string,
  options: { poolSize?: number; maxClients?: number } = {},
): Promise<Pgbouncer> {
  const binary = findPgbouncer();
  if (!binary) throw new Error('pgbouncer is not installed (Debian: apt-get install pgbouncer)');
  const upstream = new URL(upstreamUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'genloop-pgbouncer-'));
  chmodSync(dir, 0o755);
  const ini = join(dir, 'pgbouncer.ini');
  const asRoot = process.getuid?.() === 0;
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || 5432} user=${decodeURIComponent(upstream.username || 'postgres')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 20}`,
      `max_client_conn = ${options.maxClients ?? 2000}`,
      // node-postgres sends none of these today; a pooler refuses a client that sends one it
      // does not know, so they are listed as hosted poolers do.
      'ignore_startup_parameters = extra_float_digits,options',
      'server_login_retry = 1',
      'logfile =',
      'pidfile =',
      ...(asRoot ? ['user = postgres'] : []),
      '',
    ].join('\n'),
  );
  chmodSync(ini, 0o644);

  let child: Child;
  const launch = async () => {
    ({ child } = await startChild({
      name: 'pgbouncer',
      command: binary,
      args: [ini],
      ready: /process up|listening on/i,
      timeoutMs: 15_000,
    }));
    await waitForPort(port);
  };
  await launch();
  return {
    port,
    url(databaseUrl) {
      const pooled = new URL(databaseUrl);
      pooled.hostname = '127.0.0.1';
      pooled.port = String(port);
      return pooled.toString();
    },
    async restart() {
      child.process.kill('SIGTERM');
      await child.exited;
      await child.stop();
      await launch();
    },
    async stop() {
      await child.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
