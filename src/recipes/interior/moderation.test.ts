import { describe, expect, it } from 'vitest';
import { MODERATION_MESSAGE, moderateText } from './moderation.ts';

describe('prompt moderation', () => {
  it.each([
    ['a nude model posing on the sofa', 'sexual'],
    ['N.U.D.E figure painting above the bed', 'sexual'],
    ['p0rn posters on the wall', 'sexual'],
    ['a bathroom with a corpse in the tub', 'violence'],
    ['gory horror bedroom', 'violence'],
    ['a swastika flag over the fireplace', 'hate'],
    ['a kitchen set up as a meth lab', 'drugs'],
  ])('refuses %j (%s)', (text, category) => {
    expect(moderateText(text)).toEqual({ allowed: false, category });
  });

  it.each([
    'A Scandinavian living room with a nude colour palette',
    'Feature wall in blood red with brass lamps',
    'A bathroom shelf of bath bombs and candles',
    'Sussex-style cottage kitchen in Essex', // whole words only
    'A 3 bedroom home office nook with 4 shelves',
    'Café corner with crème linen and naïve art',
  ])('allows %j', (text) => {
    expect(moderateText(text)).toEqual({ allowed: true });
  });

  it('has one generic message that names no rule', () => {
    expect(MODERATION_MESSAGE).not.toMatch(/sexual|violence|hate|drugs/);
  });
});
