import type { ConfigFlags } from '../config/resolve.ts';
import type { ResolvedConfig } from '../config/schema.ts';

/** What every command gets: the resolved config (on first use) and where to print. */
export interface CliContext {
  config(extra?: ConfigFlags): ResolvedConfig;
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stdout is an interactive terminal (progress output) and not CI. */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
}
