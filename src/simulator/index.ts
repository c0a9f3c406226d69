/**
 * The provider simulator: a real HTTP server speaking the OpenAI chat-completions protocol (for
 * openai, openrouter and custom) and Replicate's predictions protocol, with deterministic
 * outputs and injectable faults. See docs/simulator.md.
 */
export type { SimulatorStats } from './context.ts';
export {
  type Fault,
  type FaultConfig,
  FaultSyntaxError,
  faultConfigFromHeader,
  parseFault,
  parseFaultConfig,
  resolveFaults,
  SIMULATED_PROVIDERS,
  type SimulatedProvider,
} from './faults.ts';
export { type LatencyConfig, type LatencySpec, latencySampler, parseLatency } from './latency.ts';
export type { WebhookDelivery, WebhookEvent } from './replicate/webhooks.ts';
export type { RecordedRequest } from './request-log.ts';
export { type Simulator, type SimulatorOptions, startSimulator } from './server.ts';
export { generateWebhookSecret, signWebhook, webhookSecretKey } from './webhook-signature.ts';

/** The header that picks faults per request: `<provider>[/<model>]=<fault>[,<fault>][;...]`. */
export const SIMULATE_HEADER = 'x-genloop-simulate';
