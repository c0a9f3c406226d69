import { Counter, Histogram, Registry } from 'prom-client';

/**
 * genloop's Prometheus instruments, one registry per process (so tests can build several apps).
 * Served at `/metrics`. Only declarations live here: telemetry counts generations into them
 * and the job queue registers its own gauge.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
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
  readonly generations = new Counter({
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
  readonly attempts = new Counter({
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
