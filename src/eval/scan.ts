import { EvalInputError } from './input-error.ts';
import { LineTooLongError, readLineBatches } from './jsonl.ts';
import { parseRecordLine } from './parse-record.ts';
import { type EvalSample, judgeRecord } from './sample.ts';
import type { SchemaVariant } from './variants.ts';

export interface ScanOptions {
  /** The JSONL file, also the name used in error messages. */
  input: string;
  /** The byte range to read: from `start` (the start of a line) to `end` (exclusive). */
  start?: number;
  end?: number;
  /**
   * The run's variant when known (`--schema-variant`, or found earlier in the file). Undefined:
   * the first record of the range sets it.
   */
  variant: SchemaVariant | undefined;
  /** Whether `variant` came from `--schema-variant` (only changes the wording of a mismatch). */
  explicitVariant: boolean;
  /** Called once, before the first sample, with the variant and the record's line. */
  onFirstRecord?: (variant: SchemaVariant, line: number) => Promise<void> | void;
  onSample: (sample: EvalSample) => void;
  /** Called after each batch of lines (one read chunk) with the records of the range so far. */
  onBatch?: (records: number) => Promise<void> | void;
}

export interface ScanResult {
  /** Lines in the range, blank ones included. */
  lines: number;
  records: number;
  /** The variant of the range's records; undefined when it holds none. */
  variant: SchemaVariant | undefined;
}

/**
 * Reads a JSONL file (or one byte range of it) and judges each record into a sample, in one
 * streaming pass: each line is parsed and validated, checked against the run's variant, judged,
 * and handed to `onSample`. Blank lines are skipped. Bad input throws an {@link EvalInputError}
 * naming the line (counted from the start of the range) and the field.
 */
export async function scanRecords(options: ScanOptions): Promise<ScanResult> {
  let variant = options.variant;
  let lines = 0;
  let records = 0;
  for await (const batch of lineBatches(options)) {
    for (const line of batch) {
      if (line.text.trim() === '') continue;
      const record = parseRecordLine(options.input, line);
      if (variant === undefined) variant = record.schema_variant;
      else if (record.schema_variant !== variant) {
        throw variantMismatch(
          options.input,
          line.number,
          record.schema_variant,
          variant,
          options.explicitVariant,
        );
      }
      if (records === 0) await options.onFirstRecord?.(variant, line.number);
      records++;
      options.onSample(judgeRecord(record, variant));
    }
    lines = batch.lastNumber;
    await options.onBatch?.(records);
  }
  return { lines, records, variant };
}

/** Every record of a run has the run's variant; another one is bad input naming the line. */
export function variantMismatch(
  input: string,
  line: number,
  found: SchemaVariant,
  variant: SchemaVariant,
  explicitVariant: boolean,
): EvalInputError {
  return new EvalInputError(
    input,
    line,
    'schema_variant',
    `is "${found}" but this run evaluates "${variant}" (${explicitVariant ? '--schema-variant' : 'the first record'}); split the file per variant`,
  );
}

async function* lineBatches(options: ScanOptions) {
  try {
    yield* readLineBatches(options.input, { start: options.start, end: options.end });
  } catch (error) {
    if (error instanceof LineTooLongError) {
      throw new EvalInputError(
        options.input,
        error.lineNumber,
        undefined,
        error.message.replace(/^line \d+ /, ''),
      );
    }
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      throw new EvalInputError(
        options.input,
        undefined,
        undefined,
        `cannot read the input file (${code})`,
      );
    }
    throw error;
  }
}
