import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, toError } from '../lib/errors.ts';
import { type FileConfig, fileConfigSchema } from './schema.ts';

const DEFAULT_FILE = 'genloop.config.json';

/**
 * Reads the config file at `path` (relative to `cwd`), else `genloop.config.json` when there is
 * one; a file named explicitly must exist. Throws a one-line {@link ConfigError}.
 */
export function readConfigFile(path: string | undefined, cwd: string): FileConfig {
  const explicit = path !== undefined && path !== '';
  const fullPath = resolve(cwd, explicit ? path : DEFAULT_FILE);
  if (!existsSync(fullPath)) {
    if (explicit) {
      throw new ConfigError(
        `config file ${fullPath} does not exist; fix --config or GENLOOP_CONFIG.`,
      );
    }
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(fullPath, 'utf8'));
  } catch (error) {
    // JSON.parse quotes the offending source, newlines included; the message stays one line.
    const reason = toError(error).message.replace(/\s+/g, ' ');
    throw new ConfigError(`config file ${fullPath} is not valid JSON: ${reason}`, { cause: error });
  }
  const result = fileConfigSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where =
      issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'root');
    throw new ConfigError(`config file ${fullPath}: ${where}: ${issue.message}.`);
  }
  return result.data;
}
