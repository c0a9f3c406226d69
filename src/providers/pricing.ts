import { z } from 'zod';
import type { Logger } from '../lib/logger.ts';
import { ownEntry } from '../lib/own-entry.ts';
import { IMAGE_PRICES, type ImagePrice, PRICES, type Price } from './prices.ts';
import type { ProviderName, Usage } from './types.ts';

const usdPerMillion = z.number().finite().min(0).max(100_000);

const usdPerUnit = z.number().finite().min(0).max(1_000);

/**
 * A price list as operators write it: `{ "<model id>": { "input": 0.15, "output": 0.6 } }` for
 * text models (USD per million tokens), `{ "per_image": 0.025 }` or `{ "per_second": 0.000975 }`
 * for image models.
 */
export const PriceListSchema = z.record(
  z.string().min(1).max(200),
  z.union([
    z.strictObject({ input: usdPerMillion, output: usdPerMillion }),
    z.strictObject({ per_image: usdPerUnit }),
    z.strictObject({ per_second: usdPerUnit }),
  ]),
);

export type PriceList = z.infer<typeof PriceListSchema>;

/** OpenAI answers with dated snapshots (`gpt-4o-mini-2024-07-18`) of the model it was asked for. */
const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

export interface PriceBookOptions {
  /** Prices that beat the built-in table (the prices file). */
  overrides?: PriceList;
  logger?: Pick<Logger, 'warn'>;
}

/** What one call is priced from: who served it, with which model, and its usage. */
export interface PricedCall {
  provider: ProviderName;
  /** The model the request named. */
  model: string | null | undefined;
  /** The model the provider says answered, tried when the requested one has no price. */
  answeredModel?: string | null | undefined;
  usage: Usage;
  /** The provider config row's `metadata.prices`, which beats everything else. */
  configPrices?: unknown;
}

/**
 * Prices calls: a provider's own cost figure wins; otherwise tokens × the model's price from the
 * config row, the prices file, or the built-in table, in that order. A model without a price
 * costs null (unknown), never 0, and is warned about once per model in this process.
 */
export class PriceBook {
  private readonly overrides: PriceList;
  private readonly warned = new Set<string>();
  private readonly parsedConfigPrices = new WeakMap<object, PriceList | null>();

  constructor(private readonly options: PriceBookOptions = {}) {
    this.overrides = options.overrides ?? {};
  }

  /** The price of a model, or undefined when nothing names one. */
  priceOf(model: string | null | undefined, configPrices?: unknown): Price | undefined {
    if (!model) return undefined;
    const fromConfig = this.configList(configPrices);
    const base = model.replace(SNAPSHOT_SUFFIX, '');
    for (const name of base === model ? [model] : [model, base]) {
      const price =
        tokenPrice(fromConfig?.[name]) ??
        tokenPrice(this.overrides[name]) ??
        ownEntry(PRICES, name);
      if (price) return price;
    }
    return undefined;
  }

  /** The price of an image model, or undefined when nothing names one. */
  imagePriceOf(model: string | null | undefined, configPrices?: unknown): ImagePrice | undefined {
    if (!model) return undefined;
    return (
      imagePrice(this.configList(configPrices)?.[model]) ??
      imagePrice(this.overrides[model]) ??
      ownEntry(IMAGE_PRICES, model)
    );
  }

  /**
   * What one image prediction cost: images × the per-image price, or its prediction seconds ×
   * the per-second price. Null when the model has no price (warned about once) or the figure it
   * is billed by is missing.
   */
  imageCost(call: {
    model: string | null | undefined;
    images: number;
    predictSeconds: number | null | undefined;
    configPrices?: unknown;
  }): number | null {
    const price = this.imagePriceOf(call.model, call.configPrices);
    if (!price) {
      this.warnUnpriced('replicate', call.model ?? null);
      return null;
    }
    if ('perImage' in price) return roundTo1e10(call.images * price.perImage);
    if (call.predictSeconds == null) return null;
    return roundTo1e10(call.predictSeconds * price.perSecond);
  }

  /**
   * The most an image prediction can cost: `images` outputs, or `maxSeconds` of prediction time.
   * A model without a price is bounded by the most expensive image price known.
   */
  imageBound(call: {
    model: string | null | undefined;
    images: number;
    maxSeconds: number;
    configPrices?: unknown;
  }): number {
    const price = this.imagePriceOf(call.model, call.configPrices);
    const prices = price
      ? [price]
      : [...Object.values(IMAGE_PRICES), ...Object.values(this.overrides).map(imagePrice)];
    let most = 0;
    for (const entry of prices) {
      if (!entry) continue;
      const amount =
        'perImage' in entry ? call.images * entry.perImage : call.maxSeconds * entry.perSecond;
      most = Math.max(most, amount);
    }
    return roundTo1e10(most);
  }

  /** The cost of one answered call in USD, or null when it cannot be known. */
  cost(call: PricedCall): number | null {
    if (call.usage.costUsd !== undefined) return call.usage.costUsd;
    const price =
      this.priceOf(call.model, call.configPrices) ??
      this.priceOf(call.answeredModel, call.configPrices);
    if (!price) {
      this.warnUnpriced(call.provider, call.model ?? call.answeredModel ?? null);
      return null;
    }
    const { inputTokens, outputTokens } = call.usage;
    if (inputTokens === undefined && outputTokens === undefined) return null;
    return costOf(price, inputTokens ?? 0, outputTokens ?? 0);
  }

  /** The most expensive price known (for a reservation when no candidate model has a price). */
  highest(): Price {
    let input = 0;
    let output = 0;
    for (const entry of [...Object.values(PRICES), ...Object.values(this.overrides)]) {
      const price = tokenPrice(entry);
      if (!price) continue;
      input = Math.max(input, price.input);
      output = Math.max(output, price.output);
    }
    return { input, output };
  }

  private configList(configPrices: unknown): PriceList | undefined {
    if (typeof configPrices !== 'object' || configPrices === null) return undefined;
    let parsed = this.parsedConfigPrices.get(configPrices);
    if (parsed === undefined) {
      const result = PriceListSchema.safeParse(configPrices);
      parsed = result.success ? result.data : null;
      if (!result.success) {
        this.options.logger?.warn(
          { issues: result.error.issues.slice(0, 3) },
          'ignoring malformed metadata.prices of a provider config',
        );
      }
      this.parsedConfigPrices.set(configPrices, parsed);
    }
    return parsed ?? undefined;
  }

  private warnUnpriced(provider: ProviderName, model: string | null): void {
    const key = `${provider}:${model}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.logger?.warn(
      { provider, model },
      'no price for this model: its calls are recorded with an unknown cost; add it to metadata.prices of the provider config or to GENLOOP_PRICES_FILE',
    );
  }
}

function tokenPrice(entry: PriceList[string] | undefined): Price | undefined {
  return entry && 'input' in entry ? entry : undefined;
}

function imagePrice(entry: PriceList[string] | undefined): ImagePrice | undefined {
  if (!entry) return undefined;
  if ('per_image' in entry) return { perImage: entry.per_image };
  if ('per_second' in entry) return { perSecond: entry.per_second };
  return undefined;
}

function roundTo1e10(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}

/** USD for token counts at a price, rounded to 1e-10 (the precision the tables keep). */
export function costOf(price: Price, inputTokens: number, outputTokens: number): number {
  return Math.round((inputTokens * price.input + outputTokens * price.output) * 1e4) / 1e10;
}
