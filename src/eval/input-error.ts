import { OperatorError } from '../lib/errors.ts';

/**
 * Bad eval input (exit code 1): the message names the file, the line and the field, so the
 * record can be found and fixed.
 *
 * @example
 * new EvalInputError('records.jsonl', 17, 'latency_ms', 'must be >= 0');
 * // "records.jsonl line 17: latency_ms: must be >= 0"
 */
export class EvalInputError extends OperatorError {
  override readonly name = 'EvalInputError';

  constructor(
    readonly path: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    readonly problem: string,
  ) {
    super(
      `${path}${line === undefined ? '' : ` line ${line}`}: ${field === undefined ? '' : `${field}: `}${problem}`,
      { exitCode: 1 },
    );
  }
}
