import { type GenerationFacts, telemetryRows } from '../../src/telemetry/rows.ts';

/** The rows of one succeeded gateway generation through openai, with what a test varies. */
export function gatewayTelemetry(
  requestId: string,
  facts: Pick<GenerationFacts, 'attempts' | 'prompt' | 'input' | 'output'>,
) {
  return telemetryRows({
    metadata: {
      requestId,
      routeStrategy: 'fallback',
      requestedProvider: null,
      selectedProvider: 'openai',
      fallbackProvider: null,
      fallbackUsed: false,
      latencyMs: 12,
      promptTemplateVersion: 'gateway-v1',
      model: 'gpt-4o-mini',
    },
    recipe: 'gateway',
    status: 'succeeded',
    userId: null,
    ...facts,
  });
}
