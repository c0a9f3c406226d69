import { describe, expect, it } from 'vitest';
import { planRoute } from './plan.ts';
import type { ProviderConfig } from './types.ts';

const config = (
  provider: ProviderConfig['provider'],
  overrides: Partial<ProviderConfig> = {},
): ProviderConfig => ({
  provider,
  environment: 'prod',
  isDefault: false,
  weight: 0,
  timeoutMs: 1_000,
  maxRetries: 0,
  model: null,
  promptTemplateVersion: 'site-v1',
  metadata: {},
  ...overrides,
});

const openai = config('openai', { isDefault: true, weight: 100 });
const custom = config('custom', { weight: 20 });
const openrouter = config('openrouter', { weight: 50 });
const names = (configs: ProviderConfig[]) => configs.map((c) => c.provider);

describe('planRoute', () => {
  it('fallback: default first, then the others by weight', () => {
    expect(
      names(planRoute({ configs: [custom, openrouter, openai], strategy: 'fallback' })),
    ).toEqual(['openai', 'openrouter', 'custom']);
  });

  it('fallback: an enabled requested provider goes first, the default second', () => {
    expect(
      names(
        planRoute({
          configs: [openai, custom, openrouter],
          strategy: 'fallback',
          requested: 'custom',
        }),
      ),
    ).toEqual(['custom', 'openai', 'openrouter']);
  });

  it('single_provider: only the requested provider, or the default', () => {
    expect(
      names(
        planRoute({ configs: [openai, custom], strategy: 'single_provider', requested: 'custom' }),
      ),
    ).toEqual(['custom']);
    expect(names(planRoute({ configs: [openai, custom], strategy: 'single_provider' }))).toEqual([
      'openai',
    ]);
  });

  it('a recipe preference is used when no provider was requested', () => {
    expect(
      names(
        planRoute({ configs: [openai, openrouter], strategy: 'fallback', preferred: 'openrouter' }),
      ),
    ).toEqual(['openrouter', 'openai']);
  });

  it('weighted: the first pick follows the weights', () => {
    const configs = [
      config('openai', { isDefault: true, weight: 90 }),
      config('custom', { weight: 10 }),
    ];
    const firsts = Array.from(
      { length: 100 },
      (_, index) =>
        planRoute({ configs, strategy: 'weighted', random: () => index / 100 })[0]!.provider,
    );
    expect(firsts.filter((name) => name === 'openai')).toHaveLength(90);
    expect(firsts.filter((name) => name === 'custom')).toHaveLength(10);
    // The unpicked provider stays available as the fallback.
    expect(names(planRoute({ configs, strategy: 'weighted', random: () => 0.95 }))).toEqual([
      'custom',
      'openai',
    ]);
  });

  it('weighted with all weights zero falls back to the default', () => {
    const configs = [config('openai', { isDefault: true }), config('custom')];
    expect(planRoute({ configs, strategy: 'weighted', random: () => 0.5 })[0]!.provider).toBe(
      'openai',
    );
  });

  it('providers in cooldown move to the end but are never dropped', () => {
    const plan = planRoute({
      configs: [openai, custom, openrouter],
      strategy: 'fallback',
      coolingDown: new Set(['openai']),
    });
    expect(names(plan)).toEqual(['openrouter', 'custom', 'openai']);
  });

  it('no configs, no route', () => {
    expect(planRoute({ configs: [], strategy: 'fallback' })).toEqual([]);
  });
});
