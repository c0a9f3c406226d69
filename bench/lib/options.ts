/** A command-line value that must be a positive integer; throws naming the flag otherwise. */
export function positiveInteger(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${flag} takes a positive integer, got "${text}"`);
  }
  return value;
}
