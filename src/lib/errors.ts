/** Normalises anything thrown into an Error, so `catch (error)` sites can pass `{ cause }`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/**
 * An error whose message is written for the operator: the CLI prints it as one line and exits
 * with `exitCode`, without a stack trace.
 */
export class OperatorError extends Error {
  override readonly name: string = 'OperatorError';
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A setting that cannot be used; the message names the setting and the fix. */
export class ConfigError extends OperatorError {
  override readonly name = 'ConfigError';
}
