/**
 * Rounding that matches the summary view, so the report and `ai_eval_run_summary_v1` agree to
 * the last digit and gates flip at the same values.
 */

/**
 * `round(avg(x::int)::numeric, 6)`: the rate numerator/denominator rounded half away from zero
 * to 6 decimals, computed exactly in integers.
 */
export function roundedRate(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator * 1_000_000 + denominator) / (2 * denominator)) / 1_000_000;
}

/**
 * `round(x::numeric, places)` for a float8 `x`: Postgres converts the double to numeric through
 * 15 significant digits, then rounds half away from zero.
 */
export function roundFloat8(value: number, places: number): number {
  const text = value.toPrecision(15);
  if (text.includes('e')) return Number(Number(text).toFixed(places));
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length <= places) return Number(text);
  const kept = `${whole}${fraction.slice(0, places)}`;
  const roundUp = fraction.charCodeAt(places) >= 53; /* '5' */
  let digits = roundUp ? incrementDigits(kept) : kept;
  digits = digits.padStart(places + 1, '0');
  const result = Number(
    `${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`,
  );
  return negative ? -result : result;
}

function incrementDigits(digits: string): string {
  const chars = digits.split('');
  for (let index = chars.length - 1; index >= 0; index--) {
    if (chars[index] === '9') chars[index] = '0';
    else {
      chars[index] = String(Number(chars[index]) + 1);
      return chars.join('');
    }
  }
  return `1${chars.join('')}`;
}
