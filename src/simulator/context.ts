import type { Logger } from '../lib/logger.ts';
import type { Fault, FaultTable, SimulatedProvider } from './faults.ts';
import { resolveFaults } from './faults.ts';
import type { LatencyTable } from './latency.ts';
import type { Lifecycle } from './lifecycle.ts';

/** Counters tests assert on ("no second prediction was paid for"). */
export interface SimulatorStats {
  /** Requests received, all prefixes. */
  requests: number;
  /** Chat completions answered (JSON or stream), whatever their fault. */
  chatCompletions: number;
  /** Embeddings calls answered. */
  embeddings: number;
  /** Replicate predictions created (each one a prediction someone would pay for). */
  predictionsCreated: number;
  /** Replicate predictions canceled. */
  predictionsCanceled: number;
  /** Webhook POSTs attempted (retries and duplicates included). */
  webhookAttempts: number;
}

export function emptyStats(): SimulatorStats {
  return {
    requests: 0,
    chatCompletions: 0,
    embeddings: 0,
    predictionsCreated: 0,
    predictionsCanceled: 0,
    webhookAttempts: 0,
  };
}

/** What the provider handlers share: timers, configuration and counters of one simulator. */
export interface SimulatorContext {
  lifecycle: Lifecycle;
  stats: SimulatorStats;
  logger: Logger | undefined;
  /** Base URL used in links the simulator hands out (prediction urls, output files). */
  publicUrl: string;
  faultTable(): FaultTable;
  latency(): LatencyTable;
}

/** Faults for one request; throws FaultSyntaxError when the header cannot be parsed. */
export function faultsForRequest(
  context: SimulatorContext,
  provider: SimulatedProvider,
  model: string | undefined,
  header: string | undefined,
): Fault[] {
  return resolveFaults(provider, model, header, context.faultTable());
}
