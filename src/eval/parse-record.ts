import type { z } from 'zod';
import { EvalInputError } from './input-error.ts';
import type { JsonlLine } from './jsonl.ts';
import { type EvalRecord, evalRecordSchema } from './record.ts';
import { acceptRecordFast } from './record-fast-path.ts';

/**
 * Parses and validates one JSONL line as an {@link EvalRecord}; throws an
 * {@link EvalInputError} naming the line and the field at fault. A cut-off last line says so.
 */
export function parseRecordLine(path: string, line: JsonlLine): EvalRecord {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new EvalInputError(
      path,
      line.number,
      undefined,
      line.terminated
        ? `not valid JSON (${detail})`
        : `not valid JSON (${detail}); it is the last line and has no newline, so the file looks truncated`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EvalInputError(path, line.number, undefined, 'a record must be a JSON object');
  }
  const accepted = acceptRecordFast(value);
  if (accepted !== undefined) return accepted;
  const result = evalRecordSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new EvalInputError(path, line.number, fieldOf(issue), issueMessage(issue, value));
  }
  return result.data;
}

function fieldOf(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? '(record)' : issue.path.map(String).join('.');
}

function issueMessage(issue: z.core.$ZodIssue, record: object): string {
  const field = issue.path[0];
  const present = typeof field === 'string' && field in record;
  if (!present && issue.path.length === 1 && issue.code === 'invalid_type') {
    return 'is required';
  }
  if (issue.code === 'invalid_type') {
    return `${issue.message} (expected ${issue.expected})`;
  }
  return issue.message;
}
