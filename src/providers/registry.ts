import type { ResolvedConfig } from '../config/schema.ts';
import { createCustomProvider } from './custom/index.ts';
import { createOpenAIProvider } from './openai/index.ts';
import { createOpenRouterProvider } from './openrouter/index.ts';
import { PROVIDER_NAMES, type ProviderName, type TextProvider } from './types.ts';

export type Serving = 'api' | 'simulator' | 'disabled';

export interface ProviderServing {
  provider: ProviderName;
  servedBy: Serving;
  /** One line for the startup log: how and why. */
  reason: string;
}

/** The providers this process can call, and how each one is served. */
export interface ProviderSet {
  text: ReadonlyMap<ProviderName, TextProvider>;
  serving: readonly ProviderServing[];
  /** Base URL of the simulator when one serves any provider. */
  simulatorUrl: string | undefined;
}

const CREDENTIAL: Record<ProviderName, string> = {
  openai: 'OPENAI_API_KEY',
  openrouter: 'OPENROUTER_API_KEY',
  custom: 'CUSTOM_PROVIDER_BASE_URL',
  replicate: 'REPLICATE_API_TOKEN',
};

/**
 * Decides how each provider is served: with its key, the real API; without one, the simulator
 * when GENLOOP_SIMULATOR allows it (`on`, or `auto` in embedded mode only), else disabled, so
 * production never serves simulated output by accident.
 */
export function planServing(config: ResolvedConfig): ProviderServing[] {
  const credentials: Record<ProviderName, string | undefined> = {
    openai: config.providers.openaiApiKey,
    openrouter: config.providers.openrouterApiKey,
    custom: config.providers.customProviderBaseUrl,
    replicate: config.providers.replicateApiToken,
  };
  return PROVIDER_NAMES.map((provider) => {
    const credential = CREDENTIAL[provider];
    if (config.simulator === 'on') {
      return { provider, servedBy: 'simulator', reason: 'GENLOOP_SIMULATOR=on' };
    }
    if (credentials[provider] !== undefined) {
      return { provider, servedBy: 'api', reason: `${credential} is set` };
    }
    if (config.simulator === 'auto' && config.mode === 'embedded') {
      return {
        provider,
        servedBy: 'simulator',
        reason: `no ${credential}; embedded mode uses the simulator`,
      };
    }
    return {
      provider,
      servedBy: 'disabled',
      reason:
        config.simulator === 'off'
          ? `no ${credential} and GENLOOP_SIMULATOR=off`
          : `no ${credential}; with DATABASE_URL the simulator is used only when GENLOOP_SIMULATOR=on`,
    };
  });
}

/** Builds the text providers of the plan; `simulatorUrl` is required when any is simulated. */
export function createProviders(
  config: ResolvedConfig,
  simulatorUrl: string | undefined,
): ProviderSet {
  const serving = planServing(config);
  const text = new Map<ProviderName, TextProvider>();
  for (const { provider, servedBy } of serving) {
    if (servedBy === 'disabled' || provider === 'replicate') continue;
    if (servedBy === 'simulator' && simulatorUrl === undefined) {
      throw new Error(`provider ${provider} needs the simulator, but none is running`);
    }
    const simulated = servedBy === 'simulator';
    const apiKey = simulated ? 'simulator' : undefined;
    switch (provider) {
      case 'openai':
        text.set(
          provider,
          createOpenAIProvider({
            apiKey: apiKey ?? config.providers.openaiApiKey!,
            baseURL: simulated ? `${simulatorUrl}/openai/v1` : config.providers.openaiBaseUrl,
            servedBy,
          }),
        );
        break;
      case 'openrouter':
        text.set(
          provider,
          createOpenRouterProvider({
            apiKey: apiKey ?? config.providers.openrouterApiKey!,
            baseURL: simulated ? `${simulatorUrl}/openrouter/api/v1` : undefined,
            servedBy,
            appUrl: config.publicBaseUrl,
          }),
        );
        break;
      case 'custom':
        text.set(
          provider,
          createCustomProvider({
            baseURL: simulated
              ? `${simulatorUrl}/custom/v1`
              : config.providers.customProviderBaseUrl!,
            apiKey: config.providers.customProviderApiKey,
            servedBy,
          }),
        );
        break;
    }
  }
  return { text, serving, simulatorUrl };
}
