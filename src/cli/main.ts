import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { type ConfigFlags, resolveConfig } from '../config/resolve.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { OperatorError } from '../lib/errors.ts';
import type { CliContext } from './context.ts';

type Register = (program: Command, context: CliContext) => void;

/**
 * Each command group's module, imported only when needed: `genloop eval run` does not load the
 * HTTP server, provider SDKs or image processing, which keeps its start-up time and memory small
 * (measured in bench/eval).
 */
const COMMAND_GROUPS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.ts')).registerServeCommand,
  db: async () => (await import('./db.ts')).registerDbCommands,
  eval: async () => (await import('./eval.ts')).registerEvalCommands,
  token: async () => (await import('./token.ts')).registerTokenCommand,
  simulator: async () => (await import('./simulator.ts')).registerSimulatorCommand,
  rollout: async () => (await import('./rollout.ts')).registerRolloutCommands,
  canary: async () => (await import('./canary.ts')).registerCanaryCommands,
  budget: async () => (await import('./budget.ts')).registerBudgetCommands,
};

/** Global options that take a value (so their value is not mistaken for the command name). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--config', '--data-dir', '--database-url', '--env']);

/** The command groups to load for `argv`: the one named, or all (help, unknown command). */
function groupsFor(argv: readonly string[]): string[] {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) index++;
    else if (!arg.startsWith('-'))
      return Object.hasOwn(COMMAND_GROUPS, arg) ? [arg] : Object.keys(COMMAND_GROUPS);
  }
  // `genloop --version` needs no command; help (and an unknown option) lists them all.
  return argv.includes('--version') || argv.includes('-V') ? [] : Object.keys(COMMAND_GROUPS);
}

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
    .version(packageJson.version, '-V, --version', 'print the version')
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

  for (const group of groupsFor(argv)) (await COMMAND_GROUPS[group]!())(program, context);

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
