/** A model's list price in USD per million tokens. */
export interface Price {
  /** USD per million prompt (input) tokens. */
  input: number;
  /** USD per million completion (output) tokens; 0 for embedding models. */
  output: number;
}

/**
 * List prices of common models, keyed by the model id each provider takes: OpenAI's own ids,
 * and OpenRouter's `<vendor>/<model>` ids. These are the providers' published standard-tier
 * prices as of 2025-06-15; they change, so an operator overrides them per provider config row
 * (`metadata.prices`) or with a prices file (`GENLOOP_PRICES_FILE`) rather than waiting for a
 * release. A model missing here has an unknown cost, never a zero one.
 */
export const PRICES: Readonly<Record<string, Price>> = {
  // OpenAI
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  o1: { input: 15, output: 60 },
  'o1-mini': { input: 1.1, output: 4.4 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
  // OpenRouter: the same OpenAI models under their OpenRouter ids, and a few popular others.
  'openai/gpt-4o': { input: 2.5, output: 10 },
  'openai/gpt-4o-mini': { input: 0.15, output: 0.6 },
  'openai/gpt-4.1': { input: 2, output: 8 },
  'openai/gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'openai/gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'openai/o1': { input: 15, output: 60 },
  'openai/o3': { input: 2, output: 8 },
  'openai/o3-mini': { input: 1.1, output: 4.4 },
  'openai/o4-mini': { input: 1.1, output: 4.4 },
  'openai/text-embedding-3-small': { input: 0.02, output: 0 },
  'openai/text-embedding-3-large': { input: 0.13, output: 0 },
  'anthropic/claude-3.5-sonnet': { input: 3, output: 15 },
  'anthropic/claude-3.7-sonnet': { input: 3, output: 15 },
  'anthropic/claude-sonnet-4': { input: 3, output: 15 },
  'anthropic/claude-3.5-haiku': { input: 0.8, output: 4 },
  'google/gemini-2.0-flash-001': { input: 0.1, output: 0.4 },
  'google/gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'google/gemini-2.5-pro': { input: 1.25, output: 10 },
  'meta-llama/llama-3.3-70b-instruct': { input: 0.12, output: 0.3 },
  'deepseek/deepseek-chat': { input: 0.3, output: 0.9 },
  'mistralai/mistral-small-3.1-24b-instruct': { input: 0.05, output: 0.1 },
};

/**
 * An image model's price on Replicate: per output image for models billed by output, or per
 * second of prediction time for models billed by the hardware they run on.
 */
export type ImagePrice = { perImage: number } | { perSecond: number };

/**
 * Prices of Replicate image models, keyed by `<owner>/<model>`. Per-image figures are the
 * "per output image" prices on each model's page; per-second ones are the hardware price of the
 * GPU the model runs on (Nvidia L40S $0.000975/s, A40 large $0.000725/s), as Replicate listed
 * them on 2025-06-15. An operator overrides them like the text prices: `metadata.prices` of the
 * `replicate` config row or the prices file, e.g. `{"owner/model": {"per_image": 0.03}}`.
 */
export const IMAGE_PRICES: Readonly<Record<string, ImagePrice>> = {
  'black-forest-labs/flux-dev': { perImage: 0.025 },
  'black-forest-labs/flux-schnell': { perImage: 0.003 },
  'black-forest-labs/flux-pro': { perImage: 0.055 },
  'black-forest-labs/flux-1.1-pro': { perImage: 0.04 },
  'black-forest-labs/flux-1.1-pro-ultra': { perImage: 0.06 },
  'black-forest-labs/flux-kontext-pro': { perImage: 0.04 },
  'black-forest-labs/flux-kontext-max': { perImage: 0.08 },
  'stability-ai/sdxl': { perSecond: 0.000975 },
  'stability-ai/stable-diffusion-3.5-large': { perImage: 0.065 },
  'adirik/interior-design': { perSecond: 0.000725 },
};
