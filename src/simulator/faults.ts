/**
 * Fault injection: what a simulated provider does wrong, chosen per provider and model by the
 * simulator's options or per request by the `x-genloop-simulate` header.
 *
 * Grammar (header and CLI): `<target>=<fault>[,<fault>...][;<target>=<fault>...]` where a target
 * is a provider (`openai`) or a provider and model (`openai/gpt-4o-mini`,
 * `replicate/black-forest-labs/flux-schnell`). Several faults of one entry combine, e.g.
 * `replicate=slow:500,duplicate-webhook`.
 */

/** The providers the simulator serves, each under its own path prefix. */
export const SIMULATED_PROVIDERS = ['openai', 'openrouter', 'custom', 'replicate'] as const;
export type SimulatedProvider = (typeof SIMULATED_PROVIDERS)[number];

export type Fault =
  | { kind: 'ok' }
  /** Answer with this HTTP status; 429 (and any status given seconds) carries Retry-After. */
  | { kind: 'error'; status: number; retryAfterSeconds: number | undefined }
  /** 400 content-policy refusal (chat), or a prediction failed by the safety checker (replicate). */
  | { kind: 'refuse' }
  /** Chat: never answer. Replicate: the prediction stays `processing` forever. */
  | { kind: 'hang' }
  /** Destroy the connection without an answer. */
  | { kind: 'reset' }
  /** Replicate: create the prediction, then destroy the connection (an ambiguous create). */
  | { kind: 'reset-after-create' }
  /** Chat: wait before answering (before the first chunk). Replicate: the prediction's run time. */
  | { kind: 'slow'; ms: number }
  | { kind: 'invalid-json' }
  | { kind: 'wrong-schema' }
  | { kind: 'unsafe-html' }
  | { kind: 'stream-cut'; chunks: number }
  | { kind: 'stream-error'; chunks: number }
  | { kind: 'malformed-sse' }
  | { kind: 'stall'; ms: number }
  | { kind: 'fail' }
  | { kind: 'no-webhook' }
  | { kind: 'duplicate-webhook' };

export type FaultKind = Fault['kind'];

const CHAT_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'ok',
  'error',
  'refuse',
  'hang',
  'reset',
  'slow',
  'invalid-json',
  'wrong-schema',
  'unsafe-html',
  'stream-cut',
  'stream-error',
  'malformed-sse',
  'stall',
]);

const REPLICATE_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'ok',
  'error',
  'refuse',
  'hang',
  'reset',
  'reset-after-create',
  'slow',
  'fail',
  'no-webhook',
  'duplicate-webhook',
]);

/** The faults a provider understands (the three chat providers share one protocol). */
export function faultsFor(provider: SimulatedProvider): ReadonlySet<FaultKind> {
  return provider === 'replicate' ? REPLICATE_FAULTS : CHAT_FAULTS;
}

/** A fault spec that cannot be used; the message names the spec and what is accepted. */
export class FaultSyntaxError extends Error {
  override readonly name = 'FaultSyntaxError';
}

/** Parses one fault, e.g. `error:429`, `error:503:2`, `slow:200`, `stream-cut:3`. */
export function parseFault(spec: string, provider: SimulatedProvider): Fault {
  const text = spec.trim();
  const [name = '', ...args] = text.split(':');
  const fault = buildFault(name, args, text);
  if (!faultsFor(provider).has(fault.kind)) {
    throw new FaultSyntaxError(
      `fault "${text}" does not apply to ${provider}; it accepts ${[...faultsFor(provider)].join(', ')}`,
    );
  }
  return fault;
}

function buildFault(name: string, args: string[], text: string): Fault {
  const number = (index: number, what: string, min: number, max: number): number => {
    const raw = args[index];
    const value = Number(raw);
    if (raw === undefined || !/^\d+$/.test(raw) || value < min || value > max) {
      throw new FaultSyntaxError(`fault "${text}" needs ${what} (an integer ${min}-${max})`);
    }
    return value;
  };
  const noArgs = (fault: Fault): Fault => {
    if (args.length > 0)
      throw new FaultSyntaxError(`fault "${name}" takes no argument ("${text}")`);
    return fault;
  };
  switch (name) {
    case 'ok':
    case 'refuse':
    case 'hang':
    case 'reset':
    case 'reset-after-create':
    case 'invalid-json':
    case 'wrong-schema':
    case 'unsafe-html':
    case 'malformed-sse':
    case 'fail':
    case 'no-webhook':
    case 'duplicate-webhook':
      return noArgs({ kind: name });
    case 'error': {
      if (args.length > 2)
        throw new FaultSyntaxError(`fault "${text}" is error:<status>[:<retry-after seconds>]`);
      const status = number(0, 'an HTTP status', 400, 599);
      const retryAfterSeconds =
        args[1] !== undefined
          ? number(1, 'Retry-After seconds', 0, 86_400)
          : status === 429
            ? 1
            : undefined;
      return { kind: 'error', status, retryAfterSeconds };
    }
    case 'slow':
    case 'stall':
      if (args.length !== 1) throw new FaultSyntaxError(`fault "${text}" is ${name}:<ms>`);
      return { kind: name, ms: number(0, 'milliseconds', 0, 86_400_000) };
    case 'stream-cut':
    case 'stream-error':
      if (args.length !== 1) throw new FaultSyntaxError(`fault "${text}" is ${name}:<chunks>`);
      return { kind: name, chunks: number(0, 'a chunk count', 0, 100_000) };
    default:
      throw new FaultSyntaxError(
        `unknown fault "${text}"; known: ok, error:<status>, refuse, hang, reset, reset-after-create, slow:<ms>, invalid-json, wrong-schema, unsafe-html, stream-cut:<n>, stream-error:<n>, malformed-sse, stall:<ms>, fail, no-webhook, duplicate-webhook`,
      );
  }
}

/** Parses `fault[,fault...]` for one provider. */
export function parseFaultList(spec: string, provider: SimulatedProvider): Fault[] {
  const parts = spec
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (parts.length === 0) throw new FaultSyntaxError(`empty fault for ${provider}`);
  return parts.map((part) => parseFault(part, provider));
}

/** Faults by target: `openai`, `openai/gpt-4o-mini`, `replicate/owner/model`. */
export type FaultConfig = Readonly<Record<string, string>>;

/** A parsed fault table: target → faults. */
export type FaultTable = ReadonlyMap<string, Fault[]>;

/** Splits a target into its provider and optional model (`openrouter/openai/gpt-4o` keeps the rest). */
export function parseTarget(target: string): {
  provider: SimulatedProvider;
  model: string | undefined;
} {
  const trimmed = target.trim();
  const slash = trimmed.indexOf('/');
  const provider = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const model = slash === -1 ? undefined : trimmed.slice(slash + 1);
  if (!(SIMULATED_PROVIDERS as readonly string[]).includes(provider)) {
    throw new FaultSyntaxError(
      `"${trimmed}" is not a simulated provider; use ${SIMULATED_PROVIDERS.join(', ')} (optionally /<model>)`,
    );
  }
  if (model !== undefined && model.length === 0)
    throw new FaultSyntaxError(`"${trimmed}" has an empty model`);
  return { provider: provider as SimulatedProvider, model };
}

/** Parses a fault config (options or `--faults`); throws {@link FaultSyntaxError} on a bad entry. */
export function parseFaultConfig(config: FaultConfig | undefined): FaultTable {
  const table = new Map<string, Fault[]>();
  for (const [target, spec] of Object.entries(config ?? {})) {
    const { provider, model } = parseTarget(target);
    table.set(
      model === undefined ? provider : `${provider}/${model}`,
      parseFaultList(spec, provider),
    );
  }
  return table;
}

/** Parses the header grammar (`openai=error:503;replicate=fail`) into a fault config. */
export function faultConfigFromHeader(header: string): Record<string, string> {
  const config: Record<string, string> = {};
  for (const entry of header.split(';')) {
    if (entry.trim().length === 0) continue;
    const equals = entry.indexOf('=');
    if (equals === -1) {
      throw new FaultSyntaxError(`"${entry.trim()}" is not <provider>=<fault>`);
    }
    config[entry.slice(0, equals).trim()] = entry.slice(equals + 1).trim();
  }
  return config;
}

/**
 * The faults for one request: the header's entry for `provider/model`, else its entry for
 * `provider`, else the configured ones in the same order, else `ok`. Header entries for other
 * providers are ignored (each provider only sees its own).
 */
export function resolveFaults(
  provider: SimulatedProvider,
  model: string | undefined,
  header: string | undefined,
  configured: FaultTable,
): Fault[] {
  if (header !== undefined && header.trim().length > 0) {
    const entries = faultConfigFromHeader(header);
    const own: Record<string, string> = {};
    for (const [target, spec] of Object.entries(entries)) {
      if (target === provider || target.startsWith(`${provider}/`)) own[target] = spec;
    }
    const table = parseFaultConfig(own);
    const fromHeader = lookup(table, provider, model);
    if (fromHeader) return fromHeader;
  }
  return lookup(configured, provider, model) ?? [{ kind: 'ok' }];
}

function lookup(
  table: FaultTable,
  provider: SimulatedProvider,
  model: string | undefined,
): Fault[] | undefined {
  return (
    (model === undefined ? undefined : table.get(`${provider}/${model}`)) ?? table.get(provider)
  );
}

/** The first fault of a kind, typed. */
export function findFault<K extends FaultKind>(
  faults: readonly Fault[],
  kind: K,
): Extract<Fault, { kind: K }> | undefined {
  return faults.find((fault) => fault.kind === kind) as Extract<Fault, { kind: K }> | undefined;
}
