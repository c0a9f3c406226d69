import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { SignInCode } from '../console/sign-in-code.ts';
import { OperatorError } from '../lib/errors.ts';
import { planServing } from '../providers/registry.ts';
import { startRuntime } from '../runtime.ts';
import type { CliContext } from './context.ts';
import { signDevToken } from './token.ts';

const SHUTDOWN_GRACE_MS = 15_000;
const DEV_USER = '00000000-0000-4000-8000-000000000001';

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('run the HTTP API (migrates the database first)')
    .option('--role <role>', 'api, worker or all', 'all')
    .option('--port <port>', 'port to listen on (PORT)')
    .option('--host <host>', 'interface to bind (GENLOOP_HOST)')
    .option('--no-migrate', 'do not apply pending migrations at start')
    .action(async (options: { role: string; port?: string; host?: string; migrate: boolean }) => {
      if (!['api', 'worker', 'all'].includes(options.role)) {
        throw new OperatorError(`--role "${options.role}" is not api, worker or all.`);
      }
      keepCompiledCode();
      const port = options.port === undefined ? undefined : parsePort(options.port);
      const config = context.config({
        ...(port === undefined ? {} : { port }),
        ...(options.host === undefined ? {} : { host: options.host }),
      });
      // Embedded mode is one developer's own machine: its console link signs in by itself.
      const signInCode =
        config.mode === 'embedded' && options.role !== 'worker' ? new SignInCode() : undefined;
      const runtime = await startRuntime(config, {
        migrate: options.migrate,
        role: options.role as 'api' | 'worker' | 'all',
        ...(signInCode ? { signInCode } : {}),
      });
      const { url } = runtime.server;
      context.stdout(
        `genloop listening on ${url} (database: ${config.mode === 'embedded' ? `embedded PGlite in ${config.dataDir}` : config.databaseDirectUrl ? 'Postgres, LISTEN and migrations over DATABASE_DIRECT_URL' : 'Postgres, LISTEN over DATABASE_URL'}, environment: ${config.environment})\n`,
      );
      context.stdout(`API reference: ${url}/docs\n`);
      context.stdout(
        `providers: ${planServing(config)
          .map((entry) => `${entry.provider}=${entry.servedBy}`)
          .join(', ')}${runtime.simulatorUrl ? ` (simulator at ${runtime.simulatorUrl})` : ''}\n`,
      );
      if (config.mode === 'embedded') {
        const token = await signDevToken(config, { user: DEV_USER, expiresIn: '24h' });
        context.stdout(
          `\ndev token (user ${DEV_USER}, 24h):\n${token}\n\ntry:\n  curl -s ${url}/api/v1/me -H "authorization: Bearer ${token}"\n\n`,
        );
        if (signInCode) {
          context.stdout(
            `console (this link signs you in once, within 15 minutes):\n  ${url}/console/sign-in?code=${signInCode.code}\n\n`,
          );
        }
      }

      await new Promise<void>((resolve) => {
        let signalled = false;
        const onSignal = (signal: NodeJS.Signals) => {
          if (signalled) return;
          signalled = true;
          runtime.logger.info({ signal }, 'shutting down');
          const force = setTimeout(() => {
            runtime.logger.error('shutdown took too long; exiting');
            process.exit(1);
          }, SHUTDOWN_GRACE_MS);
          force.unref();
          runtime.stop().then(resolve, (error) => {
            runtime.logger.error({ err: error }, 'error during shutdown');
            resolve();
          });
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new OperatorError(`--port "${value}" is not a port number (0-65535).`);
  return port;
}

/**
 * A server goes quiet at times (at night, between bursts). After a few idle seconds V8 collects
 * the heap to give memory back, and drops the compiled code of functions that have not run for
 * a while; the next burst then pays to compile the request path again (a third more CPU per
 * response at 500 req/s in bench/gateway). Node refuses this flag in NODE_OPTIONS, so the server
 * sets it itself before it serves anything (V8 reads it at each collection); a `--flush-bytecode`
 * on node's own command line is left to win.
 */
function keepCompiledCode(): void {
  if (process.execArgv.some((flag) => /flush[-_]bytecode$/.test(flag))) return;
  setFlagsFromString('--no-flush-bytecode');
}
