import { z } from 'zod';

/**
 * How one setting is read, built for its variable's name so that every message can name it:
 * `env` turns the variable's text into the value a config file would hold, `file` is that
 * value's JSON shape, and `value` checks bounds and normalises, whatever the source.
 */
export interface Codec<Value, Input> {
  readonly env: z.ZodType<Input, string>;
  readonly file: z.ZodType<Input>;
  readonly value: z.ZodType<Value, Input>;
  /** What the value may be, for the docs ('' when any text will do). */
  readonly accepts: string;
  /** A default as the docs show it. */
  readonly show: (input: Input) => string;
}

export type Parser<Value, Input> = (name: string) => Codec<Value, Input>;

/** What is wrong with `value`, as one line naming the variable; undefined when it is fine. */
export type Check = (value: string, name: string) => string | undefined;

const MiB = 1024 * 1024;

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number): Parser<number, number> {
  return integerParser(min, max, `${grouped(min)} to ${grouped(max)}`, grouped);
}

/** A size in bytes from `min` to `max`; the docs show it in KiB or MiB. */
export function bytes(min: number, max: number): Parser<number, number> {
  return integerParser(min, max, `${byteSize(min)} to ${byteSize(max)}`, byteSize);
}

function integerParser(
  min: number,
  max: number,
  accepts: string,
  show: (value: number) => string,
): Parser<number, number> {
  return (name) => ({
    env: z
      .string()
      .refine((text) => /^\d+$/.test(text.trim()), {
        error: (issue) =>
          `${name}="${issue.input}" is not a whole number; set ${name} to digits only.`,
      })
      .transform((text) => Number(text.trim())),
    file: z.number(),
    value: z
      .int({
        error: (issue) =>
          `${name}=${issue.input} is out of range; use an integer from ${min} to ${max}.`,
      })
      .min(min)
      .max(max),
    accepts,
    show,
  });
}

/** A number (decimals allowed) from `min` to `max`. */
export function decimal(min: number, max: number): Parser<number, number> {
  return (name) => ({
    env: z
      .string()
      .refine((text) => /^\d+(\.\d+)?$/.test(text.trim()), {
        error: (issue) =>
          `${name}="${issue.input}" is not a number; set ${name} to digits with an optional decimal point, such as 0.1.`,
      })
      .transform((text) => Number(text.trim())),
    file: z.number(),
    value: z
      .number({
        error: (issue) =>
          `${name}=${issue.input} is out of range; use a number from ${min} to ${max}.`,
      })
      .min(min)
      .max(max),
    accepts: `${min} to ${max}`,
    show: String,
  });
}

/** One of `values`. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
): Parser<T[number], T[number]> {
  return (name) => {
    const value: z.ZodType<T[number], T[number]> = z.enum(values, {
      error: (issue) => `${name}="${String(issue.input)}" is not one of ${values.join(', ')}.`,
    });
    return { env: value, file: z.enum(values), value, accepts: code(values), show: quoted };
  };
}

/** Any text that passes `check`; `accepts` says what passes, for the docs. */
export function text(check?: Check, accepts = ''): Parser<string, string> {
  return (name) => ({
    env: z.string(),
    file: z.string(),
    value: check === undefined ? z.string() : z.string().superRefine(report(check, name)),
    accepts,
    show: quoted,
  });
}

/** An absolute http(s) URL. */
export const httpUrl: Parser<string, string> = text((value, name) => {
  if (!URL.canParse(value)) return `${name}="${value}" is not a URL; give an absolute http(s) URL.`;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:'
    ? undefined
    : `${name}="${value}" must be an http(s) URL.`;
}, 'http(s) URL');

/** `true` or `false`. */
export const boolean: Parser<boolean, boolean> = (name) => ({
  env: z
    .enum(['true', 'false'], {
      error: (issue) => `${name}="${String(issue.input)}" is not true or false.`,
    })
    .transform((value) => value === 'true'),
  file: z.boolean(),
  value: z.boolean(),
  accepts: code(['true', 'false']),
  show: (value) => quoted(String(value)),
});

/**
 * A comma-separated list in the environment, an array of strings in a file. Entries are
 * trimmed (and lower-cased with `lowerCase`), blank ones dropped, each one must pass `check`,
 * then `normalise` rewrites it and `unique` drops repeats.
 */
export function list(
  check: Check,
  options: {
    accepts: string;
    lowerCase?: boolean;
    normalise?: (entry: string) => string;
    unique?: boolean;
  },
): Parser<readonly string[], string[]> {
  const { accepts, lowerCase = false, normalise = (entry) => entry, unique = false } = options;
  return (name) => ({
    env: z.string().transform((value) => value.split(',')),
    file: z.array(z.string()),
    value: z
      .array(z.string())
      .transform((entries) =>
        entries
          .map((entry) => (lowerCase ? entry.trim().toLowerCase() : entry.trim()))
          .filter((entry) => entry !== ''),
      )
      .pipe(z.array(z.string().superRefine(report(check, name)).transform(normalise)))
      .transform((entries) => (unique ? [...new Set(entries)] : entries)),
    accepts,
    show: (entries) => (entries.length === 0 ? 'none' : code(entries)),
  });
}

/** `<count>/<window>` such as `5/5m`, `100/1h` or `10/30s`. */
export const rate: Parser<{ readonly limit: number; readonly windowMs: number }, string> = (
  name,
) => ({
  env: z.string(),
  file: z.string(),
  value: z.string().transform((value, context) => {
    const match = /^\s*(\d+)\s*\/\s*(\d+)\s*(s|m|h|d)\s*$/.exec(value);
    if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
      context.issues.push({
        code: 'custom',
        input: value,
        message: `${name}="${value}" is not a rate; use <count>/<window> such as 5/5m, 100/1h or 10/30s.`,
      });
      return z.NEVER;
    }
    const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    return { limit: Number(match[1]), windowMs: Number(match[2]) * units[match[3]!]! };
  }),
  accepts: '`<count>/<window>`, window in `s`, `m`, `h` or `d`',
  show: quoted,
});

/** `parser`, with its checked value passed through `convert` (a unit change, say). */
export function map<Value, Input, Next>(
  parser: Parser<Value, Input>,
  convert: (value: Value) => Next,
): Parser<Next, Input> {
  return (name) => {
    const codec = parser(name);
    return { ...codec, value: codec.value.transform(convert) };
  };
}

function report(check: Check, name: string) {
  return (value: string, context: z.RefinementCtx) => {
    const message = check(value, name);
    if (message !== undefined) context.addIssue({ code: 'custom', message });
  };
}

/** `a`, `b`, `c`: values as the docs quote them. */
function code(values: readonly string[]): string {
  return values.map(quoted).join(', ');
}

function quoted(value: string): string {
  return `\`${value}\``;
}

/** 1048576 as `1 MiB`, 1024 as `1 KiB`; other sizes as grouped digits. */
function byteSize(value: number): string {
  if (value >= MiB && value % MiB === 0) return `${value / MiB} MiB`;
  if (value >= 1024 && value % 1024 === 0) return `${value / 1024} KiB`;
  return grouped(value);
}

/** 40000000 as `40,000,000`; numbers below 100,000 (ports, most defaults) stay as they are. */
function grouped(value: number): string {
  return value < 100_000 ? String(value) : String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
