import type { Metrics } from '../lib/metrics.ts';
import type { GenerationTelemetry } from './rows.ts';

/** Counts one finished generation, and each of its provider attempts, from its telemetry rows. */
export function countGeneration(metrics: Metrics, item: GenerationTelemetry): void {
  const { example } = item;
  const provider = example.selected_provider ?? 'none';
  metrics.generations.count({ recipe: example.recipe, provider, status: example.status });
  if (example.fallback_used) metrics.fallbacks.inc({ recipe: example.recipe, provider });
  if (example.latency_ms !== null) {
    metrics.generationLatency.observe({ recipe: example.recipe }, example.latency_ms / 1000);
  }
  for (const attempt of item.attempts) {
    metrics.attempts.count({
      provider: attempt.provider,
      status: attempt.status,
      error_class: attempt.error_class ?? 'none',
    });
  }
}
