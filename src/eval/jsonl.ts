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
  /**
   * Read only the bytes from `start` (inclusive, default 0) to `end` (exclusive, default the end
   * of the file). A range must begin at the start of a line; its lines are numbered from 1.
   */
  start?: number;
  end?: number;
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
 * The lines of one read chunk. Iterating decodes them one at a time, so only the line being
 * worked on exists as a string: the chunk's lines never all live at once, which keeps the young
 * generation's survivors (and so the old generation's growth) small.
 */
export class LineBatch implements Iterable<JsonlLine> {
  constructor(
    /** Whole lines, each ending with a newline, or one unterminated last line of the file. */
    private readonly bytes: Buffer,
    /** The number of the line before the first one. */
    private readonly firstNumber: number,
    /** The number of the last line. */
    readonly lastNumber: number,
    private readonly maxLineBytes: number,
  ) {}

  *[Symbol.iterator](): Iterator<JsonlLine> {
    const { bytes, maxLineBytes } = this;
    let number = this.firstNumber;
    let start = 0;
    while (start < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start);
      const terminated = newline !== -1;
      const end = terminated ? newline : bytes.length;
      number++;
      const lineEnd = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
      if (lineEnd - start > maxLineBytes) throw new LineTooLongError(number, maxLineBytes);
      yield { number, text: decodeLine(bytes, start, lineEnd), terminated };
      start = end + 1;
    }
  }
}

/**
 * Streams the lines of a UTF-8 file in batches (the lines of one read chunk), in constant memory:
 * one chunk plus one partial line. Lines are cut at newline bytes (a newline byte never occurs
 * inside a multi-byte UTF-8 sequence) and each is decoded on its own as the batch is iterated;
 * the per-line work stays synchronous and only a chunk costs an await. `\r\n` endings are
 * accepted; a byte-order mark is skipped. A byte range of the file can be read on its own (see
 * `start` and `end`), so that ranges can be read by several threads at once.
 *
 * @example
 * for await (const lines of readLineBatches('records.jsonl')) {
 *   for (const line of lines) console.log(line.number, line.text);
 * }
 */
export async function* readLineBatches(
  path: string,
  {
    maxLineBytes = 16 * 1024 * 1024,
    chunkBytes = 256 * 1024,
    start = 0,
    end = Number.POSITIVE_INFINITY,
  }: ReadLinesOptions = {},
): AsyncGenerator<LineBatch> {
  let carry: Buffer | undefined;
  let number = 0;
  let first = start === 0;
  if (end <= start) return;
  const stream = createReadStream(path, {
    highWaterMark: chunkBytes,
    start,
    ...(Number.isFinite(end) ? { end: end - 1 } : {}),
  });
  for await (const chunk of stream) {
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
    const whole = bytes.subarray(0, last + 1);
    const count = countNewlines(whole);
    yield new LineBatch(whole, number, number + count, maxLineBytes);
    number += count;
  }
  if (carry && carry.length > 0) {
    yield new LineBatch(carry, number, number + 1, maxLineBytes);
  }
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/**
 * One line's bytes as text. An ASCII line (most of them, in practice) decodes as latin1, several
 * times faster than utf8 and into a one-byte string, which JSON.parse also reads faster; only the
 * lines that hold other characters pay for utf8 (measured in bench/eval).
 */
function decodeLine(bytes: Buffer, start: number, end: number): string {
  return bytes.toString(isAscii(bytes.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}
