import { Counter, type CounterConfiguration, Histogram, Registry } from 'prom-client';

/**
 * A prom-client counter for the hot path: {@link count} adds to a plain tally keyed by the label
 * values, and the tally is added to the counter whenever it is read (a scrape, `get()`). A
 * prom-client `inc` validates and hashes its labels on every call, a cost paid per request;
 * here it is paid per series per scrape.
 */
export class TalliedCounter<T extends string> extends Counter<T> {
  private readonly tally = new Map<string, { labels: Record<T, string>; count: number }>();
  private readonly names: readonly T[];

  constructor(config: CounterConfiguration<T> & { labelNames: readonly T[] }) {
    super({
      ...config,
      collect(this: Counter<T>) {
        (this as TalliedCounter<T>).settle();
      },
    });
    this.names = config.labelNames;
  }

  /** Adds `value` (default 1) to the series of `labels`, as `inc` would once read. */
  count(labels: Record<T, string>, value = 1): void {
    // Each value with its length in front: no two series share a key, whatever they contain.
    let key = '';
    for (const name of this.names) {
      const value = labels[name];
      key += `${value.length}:${value}`;
    }
    const entry = this.tally.get(key);
    if (entry) entry.count += value;
    else this.tally.set(key, { labels: { ...labels }, count: value });
  }

  /** Adds what was counted since the last read to the counter. */
  settle(): void {
    for (const entry of this.tally.values()) {
      if (entry.count === 0) continue;
      this.inc(entry.labels, entry.count);
      entry.count = 0;
    }
  }
}

/**
 * genloop's Prometheus instruments, one registry per process (so tests can build several apps).
 * Served at `/metrics`. Only declarations live here: telemetry counts generations into them
 * and the job queue registers its own gauge.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new TalliedCounter({
    name: 'genloop_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'genloop_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly generations = new TalliedCounter({
    name: 'genloop_generations_total',
    help: 'Generations by recipe, selected provider and outcome',
    labelNames: ['recipe', 'provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly fallbacks = new Counter({
    name: 'genloop_fallbacks_total',
    help: 'Generations answered by a fallback provider',
    labelNames: ['recipe', 'provider'] as const,
    registers: [this.registry],
  });
  readonly attempts = new TalliedCounter({
    name: 'genloop_provider_attempts_total',
    help: 'Provider calls by provider, status and error class',
    labelNames: ['provider', 'status', 'error_class'] as const,
    registers: [this.registry],
  });
  readonly generationLatency = new Histogram({
    name: 'genloop_generation_latency_seconds',
    help: 'Route latency of generations (all attempts)',
    labelNames: ['recipe'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly claimLatency = new Histogram({
    name: 'genloop_job_claim_latency_seconds',
    help: 'Time from submit to a worker claiming the job',
    labelNames: ['recipe'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly jobsFinished = new Counter({
    name: 'genloop_jobs_finished_total',
    help: 'Jobs finished by this process, by recipe and outcome',
    labelNames: ['recipe', 'status'] as const,
    registers: [this.registry],
  });
}
