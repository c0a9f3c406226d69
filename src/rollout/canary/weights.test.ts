import { describe, expect, it } from 'vitest';
import type { ProviderConfigState } from '../provider-state.ts';
import {
  describeDrift,
  firstTryShare,
  promotionChanges,
  shareOut,
  stepChanges,
} from './weights.ts';

const row = (
  provider: string,
  overrides: Partial<ProviderConfigState> = {},
): ProviderConfigState => ({
  provider,
  environment: 'prod',
  enabled: true,
  is_default: false,
  weight: 0,
  timeout_ms: 30_000,
  max_retries: 1,
  model: null,
  prompt_template_version: 'site-v1',
  metadata: {},
  ...overrides,
});

/** The seeded prod rows: openai the default at 100, the rest enabled at 0. */
const seeded = [
  row('custom'),
  row('openai', { is_default: true, weight: 100 }),
  row('openrouter'),
  row('replicate'),
];

describe('canary weights', () => {
  it('a step gives the candidate its weight; the default takes the rest when the others had none', () => {
    expect(stepChanges(seeded, 'custom', 20)).toEqual([
      { provider: 'openai', enabled: true, isDefault: true, weight: 80, strategy: 'weighted' },
      { provider: 'openrouter', enabled: true, isDefault: false, weight: 0 },
      { provider: 'custom', enabled: true, isDefault: false, weight: 20 },
    ]);
  });

  it('the baseline providers share the rest in proportion to their weights, adding up exactly', () => {
    const rows = [
      row('custom', { weight: 0 }),
      row('openai', { is_default: true, weight: 2, metadata: { route_strategy: 'weighted' } }),
      row('openrouter', { weight: 1 }),
    ];
    const changes = stepChanges(rows, 'custom', 25);
    expect(changes.map((change) => [change.provider, change.weight])).toEqual([
      ['openai', 50],
      ['openrouter', 25],
      ['custom', 25],
    ]);
    expect(
      shareOut(95, [row('a', { weight: 1 }), row('b', { weight: 1 }), row('c', { weight: 1 })]),
    ).toEqual([32, 32, 31]);
  });

  it('disabled rows and image providers are left alone', () => {
    const rows = [
      ...seeded.slice(0, 2),
      row('openrouter', { enabled: false, weight: 50 }),
      row('replicate', { weight: 70 }),
    ];
    const providers = stepChanges(rows, 'custom', 5).map((change) => change.provider);
    expect(providers).toEqual(['openai', 'custom']);
  });

  it('a promotion makes the candidate the default at 100 with the strategy from before', () => {
    const rows = [
      row('custom'),
      row('openai', {
        is_default: true,
        weight: 100,
        metadata: { route_strategy: 'single_provider' },
      }),
      row('openrouter'),
    ];
    expect(promotionChanges(rows, 'custom')).toEqual([
      { provider: 'openai', enabled: true, isDefault: false, weight: 0, strategy: null },
      { provider: 'openrouter', enabled: true, isDefault: false, weight: 0 },
      {
        provider: 'custom',
        enabled: true,
        isDefault: true,
        weight: 100,
        strategy: 'single_provider',
      },
    ]);
    expect(promotionChanges(seeded, 'custom').at(-1)).toMatchObject({ strategy: 'fallback' });
  });

  it('first-try share follows the strategy the router applies', () => {
    expect(firstTryShare(seeded, 'openai')).toBe(1);
    expect(firstTryShare(seeded, 'custom')).toBe(0);
    const weighted = [
      row('custom', { weight: 30 }),
      row('openai', { is_default: true, weight: 70, metadata: { route_strategy: 'weighted' } }),
    ];
    expect(firstTryShare(weighted, 'custom')).toBeCloseTo(0.3);
    const zero = weighted.map((entry) => ({ ...entry, weight: 0 }));
    expect(firstTryShare(zero, 'openai')).toBe(1);
    expect(firstTryShare([row('custom', { enabled: false, weight: 100 })], 'custom')).toBe(0);
  });

  it('tells when the rows no longer route as the canary left them', () => {
    const atStep = [
      row('custom', { weight: 20 }),
      row('openai', { is_default: true, weight: 80, metadata: { route_strategy: 'weighted' } }),
    ];
    expect(describeDrift(atStep, 'custom', 20)).toBeUndefined();
    expect(describeDrift(atStep, 'custom', 50)).toBe('custom is at weight 20, not 50');
    expect(describeDrift([atStep[0]!, row('openai', { is_default: true })], 'custom', 20)).toBe(
      'the route strategy is fallback, not weighted',
    );
    expect(describeDrift([row('custom', { enabled: false, weight: 20 })], 'custom', 20)).toBe(
      'custom is disabled',
    );
  });
});
