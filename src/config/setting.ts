import type { Codec, Parser } from './parsers.ts';

/** The docs/configuration.md table a setting is listed in. */
export type Section = 'server' | 'auth' | 'browsers' | 'providers' | 'jobs' | 'storage';

/**
 * The default of a setting that a rule after the table fills in from other settings or the data
 * folder; the resolved value is never undefined.
 */
export const derived: unique symbol = Symbol('derived');

/** One row of the settings table. Build it with {@link setting}. */
export class Setting<Value, Input, File extends string | undefined, Default> {
  /** The environment variables, in order of precedence; messages name the first. */
  readonly names: readonly [string, ...string[]];
  readonly file: File;
  readonly codec: Codec<Value, Input>;
  readonly default: Default;
  readonly defaultText: string | undefined;
  readonly section: Section;
  readonly description: string;

  constructor(spec: SettingSpec<Value, Input, File, Default>) {
    this.names = typeof spec.env === 'string' ? [spec.env] : spec.env;
    this.file = spec.file as File;
    this.codec = spec.parse(this.names[0]);
    this.default = spec.default as Default;
    this.defaultText = spec.defaultText;
    this.section = spec.section;
    this.description = spec.description;
  }
}

export interface SettingSpec<Value, Input, File, Default> {
  /** The environment variable; with several, the first one set wins. */
  env: string | readonly [string, ...string[]];
  /** Its key in genloop.config.json and in flags; without one it is read from the environment only. */
  file?: File;
  parse: Parser<Value, Input>;
  /** Goes through `parse` like any other value; unset and without a default, it is undefined. */
  default?: Default;
  /** The default as the docs describe it, when it is not a constant. */
  defaultText?: string;
  section: Section;
  /** One line for the docs: what the setting does. */
  description: string;
}

/**
 * One setting: where it is read from, how it is checked, its default and its line in the docs.
 *
 * @example
 * setting({ env: 'PORT', file: 'port', parse: integer(0, 65535), default: 8787,
 *   section: 'server', description: 'port the server listens on' })
 */
export function setting<
  Value,
  Input,
  const File extends string | undefined = undefined,
  const Default extends Input | typeof derived | undefined = undefined,
>(spec: SettingSpec<Value, Input, File, Default>): Setting<Value, Input, File, Default> {
  return new Setting(spec);
}

// biome-ignore lint/suspicious/noExplicitAny: any setting, whatever its types.
export type AnySetting = Setting<any, any, any, any>;

/**
 * The values a table of settings resolves to, in its shape. In the `draft` the table pass
 * returns, derived defaults are still undefined; in the `final` config they are filled in.
 */
export type Values<Table, Stage extends 'draft' | 'final'> =
  Table extends Setting<infer Value, infer _Input, infer _File, infer Default>
    ? [Default] extends [undefined]
      ? Value | undefined
      : [Default] extends [typeof derived]
        ? Stage extends 'final'
          ? Value
          : Value | undefined
        : Value
    : { readonly [Key in keyof Table]: Values<Table[Key], Stage> };

/** The config-file keys of a table's settings, each with the value a file holds for it. */
export type FileValues<Table> = {
  [Entry in FileEntries<Table> as Entry extends { key: infer Key extends string }
    ? Key
    : never]?: Entry extends { input: infer Input } ? Input : never;
};

type FileEntries<Table> =
  Table extends Setting<infer _Value, infer Input, infer File, infer _Default>
    ? File extends string
      ? { key: File; input: Input }
      : never
    : { [Key in keyof Table]: FileEntries<Table[Key]> }[keyof Table];

/** Calls `visit` on every setting of `table`, in the table's order. */
export function forEachSetting(table: object, visit: (setting: AnySetting) => void): void {
  for (const value of Object.values(table)) {
    if (value instanceof Setting) visit(value);
    else forEachSetting(value as object, visit);
  }
}
