import { Command, CommanderError } from 'commander';
import { type ConfigFlags, resolveConfig } from '../config/resolve.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { OperatorError } from '../lib/errors.ts';
import type { CliContext } from './context.ts';
import { registerDbCommands } from './db.ts';
import { registerEvalCommands } from './eval.ts';
import { registerRolloutCommands } from './rollout.ts';
import { registerServeCommand } from './serve.ts';
import { registerSimulatorCommand } from './simulator.ts';
import { registerTokenCommand } from './token.ts';

export interface MainOptions {
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/**
 * Runs the genloop CLI and returns its exit code: 0 ok, 1 error (bad input, unreachable
 * database), 2 gate failed, 3 inconclusive. Operator errors print one line, never a bare stack.
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));

  const program = new Command('genloop')
    .description('self-hosted control plane for AI generation on Postgres')
    .option('--config <file>', 'config file (default genloop.config.json when present)')
    .option('--data-dir <dir>', 'embedded database folder (GENLOOP_DATA_DIR, default .genloop)')
    .option('--database-url <url>', 'Postgres connection string (DATABASE_URL)')
    .option('--env <environment>', 'routing environment (GENLOOP_ENV, default prod)')
    .exitOverride()
    .configureOutput({ writeOut: stdout, writeErr: stderr })
    .showHelpAfterError();

  let resolved: ResolvedConfig | undefined;
  const context: CliContext = {
    env,
    stdout,
    stderr,
    interactive: Boolean(process.stdout.isTTY) && !env.CI,
    config(extra: ConfigFlags = {}) {
      if (resolved) return resolved;
      const global = program.opts<{
        config?: string;
        dataDir?: string;
        databaseUrl?: string;
        env?: string;
      }>();
      resolved = resolveConfig({
        env,
        flags: {
          ...(global.config ? { config: global.config } : {}),
          ...(global.dataDir ? { dataDir: global.dataDir } : {}),
          ...(global.databaseUrl ? { databaseUrl: global.databaseUrl } : {}),
          ...(global.env ? { environment: global.env } : {}),
          ...extra,
        },
      });
      return resolved;
    },
  };

  registerServeCommand(program, context);
  registerDbCommands(program, context);
  registerEvalCommands(program, context);
  registerTokenCommand(program, context);
  registerSimulatorCommand(program, context);
  registerRolloutCommands(program, context);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 || error.code === 'commander.helpDisplayed' ? 0 : 1;
    }
    if (error instanceof OperatorError) {
      stderr(`genloop: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    stderr(`genloop: unexpected error: ${message}\n`);
    if (env.GENLOOP_DEBUG && error instanceof Error && error.stack) stderr(`${error.stack}\n`);
    else stderr('genloop: set GENLOOP_DEBUG=1 to print the stack trace\n');
    return 1;
  }
}
