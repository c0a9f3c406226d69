import { parseTarget, type SimulatedProvider } from './faults.ts';

/**
 * How long a simulated provider takes: a fixed time, or a uniform or log-normal distribution
 * described by its median and 99th percentile (the two numbers dashboards show).
 */
export interface LatencySpec {
  distribution: 'fixed' | 'uniform' | 'lognormal';
  p50Ms: number;
  /** Required for uniform and lognormal; ignored by fixed. */
  p99Ms?: number;
  /** Upper bound of any sample (lognormal tails are long); default 10 × p99. */
  maxMs?: number;
}

/** One spec for everything, or specs by target (`openai`, `openai/gpt-4o-mini`, `replicate`). */
export type LatencyConfig = LatencySpec | Readonly<Record<string, LatencySpec>>;

/** Draws a latency in ms. */
export type LatencySampler = (random?: () => number) => number;

const Z99 = 2.326_347_874; // the standard normal's 99th percentile

/** Validates a spec and returns its sampler; throws a RangeError naming the bad field. */
export function latencySampler(spec: LatencySpec): LatencySampler {
  const { distribution, p50Ms } = spec;
  if (!Number.isFinite(p50Ms) || p50Ms < 0)
    throw new RangeError(`latency p50Ms must be ≥ 0 (got ${p50Ms})`);
  if (distribution === 'fixed') return () => p50Ms;
  const p99Ms = spec.p99Ms;
  if (p99Ms === undefined || !Number.isFinite(p99Ms) || p99Ms < p50Ms) {
    throw new RangeError(`latency ${distribution} needs p99Ms ≥ p50Ms (got ${p99Ms})`);
  }
  const maxMs = spec.maxMs ?? p99Ms * 10;
  if (distribution === 'uniform') {
    // Uniform on [low, high] with the given median and 99th percentile.
    const width = (p99Ms - p50Ms) / 0.49;
    const low = p50Ms - width / 2;
    if (low < 0) {
      throw new RangeError(
        `latency uniform cannot have p50Ms ${p50Ms} and p99Ms ${p99Ms} (p99Ms can be at most 1.98 × p50Ms); use lognormal`,
      );
    }
    const high = low + width;
    return (random = Math.random) => Math.min(maxMs, low + random() * (high - low));
  }
  if (distribution === 'lognormal') {
    if (p50Ms <= 0) throw new RangeError('latency lognormal needs p50Ms > 0');
    const mu = Math.log(p50Ms);
    const sigma = Math.log(p99Ms / p50Ms) / Z99;
    return (random = Math.random) => {
      // Box–Muller; 1 - random() keeps the logarithm away from 0.
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      return Math.min(maxMs, Math.exp(mu + sigma * normal));
    };
  }
  throw new RangeError(
    `latency distribution must be fixed, uniform or lognormal (got ${String(distribution)})`,
  );
}

function isSpec(value: unknown): value is LatencySpec {
  return typeof value === 'object' && value !== null && 'distribution' in value;
}

/** Latency by target, resolved like faults: `provider/model`, then `provider`, then `*`, else 0. */
export class LatencyTable {
  readonly #samplers = new Map<string, LatencySampler>();

  constructor(config: LatencyConfig | undefined) {
    if (config === undefined) return;
    if (isSpec(config)) {
      this.#samplers.set('*', latencySampler(config));
      return;
    }
    for (const [target, spec] of Object.entries(config)) {
      if (target === '*') {
        this.#samplers.set('*', latencySampler(spec));
        continue;
      }
      const { provider, model } = parseTarget(target);
      this.#samplers.set(
        model === undefined ? provider : `${provider}/${model}`,
        latencySampler(spec),
      );
    }
  }

  sample(provider: SimulatedProvider, model: string | undefined): number {
    const sampler =
      (model === undefined ? undefined : this.#samplers.get(`${provider}/${model}`)) ??
      this.#samplers.get(provider) ??
      this.#samplers.get('*');
    return sampler ? Math.round(sampler()) : 0;
  }
}

/**
 * Parses the CLI form: `<ms>` (fixed), `fixed:<ms>`, `uniform:<p50>:<p99>`, `lognormal:<p50>:<p99>`.
 * @example parseLatency('lognormal:80:400') // { distribution: 'lognormal', p50Ms: 80, p99Ms: 400 }
 */
export function parseLatency(text: string): LatencySpec {
  const parts = text.trim().split(':');
  const numbers = (values: string[]) =>
    values.map((value) => {
      const parsed = Number(value);
      if (value.trim() === '' || !Number.isFinite(parsed))
        throw new RangeError(`"${text}" is not a latency`);
      return parsed;
    });
  if (parts.length === 1) {
    const [ms] = numbers(parts);
    return { distribution: 'fixed', p50Ms: ms! };
  }
  const [distribution, ...rest] = parts;
  if (distribution === 'fixed' && rest.length === 1)
    return { distribution, p50Ms: numbers(rest)[0]! };
  if ((distribution === 'uniform' || distribution === 'lognormal') && rest.length === 2) {
    const [p50Ms, p99Ms] = numbers(rest);
    const spec = { distribution, p50Ms: p50Ms!, p99Ms: p99Ms! } as const;
    latencySampler(spec);
    return spec;
  }
  throw new RangeError(
    `"${text}" is not <ms>, fixed:<ms>, uniform:<p50>:<p99> or lognormal:<p50>:<p99>`,
  );
}
