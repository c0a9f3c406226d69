import { describe, expect, it } from 'vitest';
import { PriceBook } from './pricing.ts';

const usage = (inputTokens: number, outputTokens: number, costUsd?: number) => ({
  inputTokens,
  outputTokens,
  costUsd,
});

function warnings() {
  const seen: unknown[] = [];
  return { seen, logger: { warn: (object: unknown) => seen.push(object) } as never };
}

describe('PriceBook', () => {
  it('a model named like what every object inherits has no price (and no NaN cost)', () => {
    const book = new PriceBook();
    for (const model of ['valueOf', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(book.priceOf(model), model).toBeUndefined();
      expect(book.imagePriceOf(model), model).toBeUndefined();
      expect(book.cost({ provider: 'openai', model, usage: usage(1_000, 500) }), model).toBeNull();
    }
  });

  it('prices tokens at the built-in table, dated snapshots included', () => {
    const book = new PriceBook();
    const call = { provider: 'openai' as const, usage: usage(1_000, 500) };
    expect(book.cost({ ...call, model: 'gpt-4o-mini' })).toBeCloseTo(0.00045, 12);
    expect(book.cost({ ...call, model: 'gpt-4o-mini-2024-07-18' })).toBeCloseTo(0.00045, 12);
    expect(book.cost({ ...call, model: 'gpt-4o' })).toBeCloseTo(0.0075, 12);
  });

  it("a provider's own figure wins over every price", () => {
    const book = new PriceBook({ overrides: { 'gpt-4o-mini': { input: 99, output: 99 } } });
    expect(
      book.cost({ provider: 'openrouter', model: 'gpt-4o-mini', usage: usage(10, 10, 0.0042) }),
    ).toBe(0.0042);
  });

  it('config prices beat the file, the file beats the table', () => {
    const book = new PriceBook({ overrides: { 'gpt-4o-mini': { input: 1, output: 2 } } });
    const call = { provider: 'openai' as const, model: 'gpt-4o-mini', usage: usage(1e6, 1e6) };
    expect(book.cost(call)).toBe(3);
    expect(book.cost({ ...call, configPrices: { 'gpt-4o-mini': { input: 5, output: 5 } } })).toBe(
      10,
    );
  });

  it('an unknown model costs null and is warned about once', () => {
    const { seen, logger } = warnings();
    const book = new PriceBook({ logger });
    const call = { provider: 'custom' as const, model: 'house-7b', usage: usage(10, 10) };
    expect(book.cost(call)).toBeNull();
    expect(book.cost(call)).toBeNull();
    expect(seen).toHaveLength(1);
    expect(book.cost({ ...call, model: 'house-13b' })).toBeNull();
    expect(seen).toHaveLength(2);
  });

  it('malformed config prices are ignored, with a warning', () => {
    const { seen, logger } = warnings();
    const book = new PriceBook({ logger });
    const configPrices = { 'gpt-4o-mini': { input: -1, output: 'free' } };
    const call = { provider: 'openai' as const, model: 'gpt-4o-mini', usage: usage(1e6, 0) };
    expect(book.cost({ ...call, configPrices })).toBe(0.15);
    expect(seen).toHaveLength(1);
  });
});
