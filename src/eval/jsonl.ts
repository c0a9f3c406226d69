import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';

/** One line of a JSONL file. */
export interface JsonlLine {
  /** 1-based line number. */
  number: number;
  text: string;
  /** False for a last line that has no newline after it (the file may have been cut off). */
  terminated: boolean;
}

export interface ReadLinesOptions {
  /** A line longer than this many bytes is an error; keeps memory bounded. */
  maxLineBytes?: number;
  /** Read size; larger chunks mean fewer calls. */
  chunkBytes?: number;
}

/** Thrown for a line that is longer than `maxLineBytes`. */
export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(
    readonly lineNumber: number,
    readonly limit: number,
  ) {
    super(`line ${lineNumber} is longer than ${limit} bytes`);
  }
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 13;

/**
 * Streams the lines of a UTF-8 file in batches (the lines of one read chunk), in constant memory:
 * one chunk plus one partial line. Lines are cut at newline bytes (a newline byte never occurs
 * inside a multi-byte UTF-8 sequence) and each is decoded on its own; the per-line work stays
 * synchronous and only a chunk costs an await. `\r\n` endings are accepted; a byte-order mark is skipped.
 *
 * @example
 * for await (const lines of readLineBatches('records.jsonl')) {
 *   for (const line of lines) console.log(line.number, line.text);
 * }
 */
export async function* readLineBatches(
  path: string,
  { maxLineBytes = 16 * 1024 * 1024, chunkBytes = 256 * 1024 }: ReadLinesOptions = {},
): AsyncGenerator<JsonlLine[]> {
  let carry: Buffer | undefined;
  let number = 0;
  let first = true;
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes })) {
    let bytes = carry ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    if (first) {
      first = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    const last = bytes.lastIndexOf(NEWLINE);
    if (last === -1) {
      if (bytes.length > maxLineBytes) throw new LineTooLongError(number + 1, maxLineBytes);
      carry = bytes;
      continue;
    }
    carry = last + 1 < bytes.length ? Buffer.from(bytes.subarray(last + 1)) : undefined;
    if (carry && carry.length > maxLineBytes) throw new LineTooLongError(number + 1, maxLineBytes);
    const batch = splitLines(bytes.subarray(0, last + 1), number, maxLineBytes);
    number += batch.length;
    yield batch;
  }
  if (carry && carry.length > 0) {
    number++;
    let text = carry.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    yield [{ number, text, terminated: false }];
  }
}

/**
 * The lines of `bytes`, which must end with a newline: numbered from `lastNumber + 1`, `\r\n`
 * endings stripped, each decoded on its own.
 */
export function splitLines(bytes: Buffer, lastNumber: number, maxLineBytes: number): JsonlLine[] {
  const lines: JsonlLine[] = [];
  let number = lastNumber;
  let start = 0;
  for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
    number++;
    const lineEnd = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    if (lineEnd - start > maxLineBytes) throw new LineTooLongError(number, maxLineBytes);
    lines.push({ number, text: decodeLine(bytes, start, lineEnd), terminated: true });
    start = end + 1;
  }
  return lines;
}

/**
 * One line's bytes as text. An ASCII line (most of them, in practice) decodes as latin1, several
 * times faster than utf8 and into a one-byte string, which JSON.parse also reads faster; only the
 * lines that hold other characters pay for utf8 (measured in bench/eval).
 */
function decodeLine(bytes: Buffer, start: number, end: number): string {
  return bytes.toString(isAscii(bytes.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}
