import type { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import { type AnySetting, derived, forEachSetting, Setting, type Values } from './setting.ts';

/** Where values come from, strongest first: flags, then the environment, then the config file. */
export interface Sources {
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: NodeJS.ProcessEnv;
  readonly file: Readonly<Record<string, unknown>>;
}

/**
 * Resolves every setting of `table` on its own: flag > environment > config file > default,
 * each value checked by its parser. Defaults marked `derived` are left undefined for the rules
 * that combine settings.
 */
export function resolveTable<Table extends object>(
  table: Table,
  sources: Sources,
): Values<Table, 'draft'> {
  const draft: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    draft[key] =
      value instanceof Setting ? resolveSetting(value, sources) : resolveTable(value, sources);
  }
  return draft as Values<Table, 'draft'>;
}

function resolveSetting(setting: AnySetting, { flags, env, file }: Sources): unknown {
  // A variable that is set is read even when a flag wins, so a bad one never goes unnoticed.
  const name = setting.names.find((candidate) => present(env[candidate]));
  const fromEnv = name === undefined ? undefined : parse(setting.codec.env, env[name]);
  const chosen =
    (setting.file === undefined ? undefined : given(flags[setting.file])) ??
    fromEnv ??
    (setting.file === undefined ? undefined : given(file[setting.file])) ??
    (setting.default === derived ? undefined : setting.default);
  return chosen === undefined ? undefined : parse(setting.codec.value, chosen);
}

/** Runs `schema` and turns its first issue, whose message names the variable, into the error. */
function parse(schema: z.ZodType, value: unknown): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues[0]!.message);
}

/** Blank text counts as unset, wherever it comes from. */
function given(value: unknown): unknown {
  return typeof value === 'string' && !present(value) ? undefined : value;
}

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** The JSON shape of a config file: every setting's key, none required, no other key. */
export function fileShape(table: object): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  forEachSetting(table, (setting) => {
    if (setting.file !== undefined) shape[setting.file] = setting.codec.file;
  });
  return shape;
}
