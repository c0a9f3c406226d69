import { describe, expect, it } from 'vitest';
import { roundedRate, roundFloat8 } from './rounding.ts';

describe('roundedRate', () => {
  it('rounds half away from zero to 6 decimals, exactly', () => {
    expect(roundedRate(2, 3)).toBe(0.666667);
    expect(roundedRate(1, 3)).toBe(0.333333);
    expect(roundedRate(1, 400_000)).toBe(0.000003); // 0.0000025 rounds up
    expect(roundedRate(0, 5)).toBe(0);
    expect(roundedRate(5, 5)).toBe(1);
  });
});

describe('roundFloat8', () => {
  it('rounds through 15 significant digits, half away from zero', () => {
    expect(roundFloat8(1.0005, 3)).toBe(1.001); // 1.0005 is 1.000499999… in binary
    expect(roundFloat8(470.5, 3)).toBe(470.5);
    expect(roundFloat8(999.9995, 3)).toBe(1000);
    expect(roundFloat8(-2.0005, 3)).toBe(-2.001);
    expect(roundFloat8(12345.678949999, 3)).toBe(12345.679);
    expect(roundFloat8(0, 3)).toBe(0);
  });
});
