import { storableJson } from '../lib/storable-text.ts';

/** The version byte that opens Postgres's binary input of a jsonb value. */
const JSONB_BINARY_VERSION = 1;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

/**
 * A `$n::jsonb` array parameter held as the JSON text of each element, for the statements that
 * expand many rows from one parameter (`jsonb_to_recordset`).
 *
 * A batch's rows serialised as one `JSON.stringify` come out as a V8 rope of several hundred
 * kilobytes, which must be flattened into one large heap string before anything can read it:
 * for a hundred 4 kB training rows that costs three to four times the serialising itself. Each
 * element's text is small and flat, and the node-postgres driver writes them one after another
 * into the parameter's bytes (sent in jsonb's binary input format, through the driver's
 * `toPostgres` hook), so the array's text never exists as a string. The embedded driver takes
 * text parameters only and joins them.
 */
export class JsonArrayParam {
  private constructor(readonly elements: readonly string[]) {}

  /**
   * `values` as a jsonb array in which text Postgres cannot store (a NUL, a lone surrogate) is
   * replaced by U+FFFD, element by element as `storableJson` does for a whole value.
   */
  static storable(values: readonly unknown[]): JsonArrayParam {
    // An undefined element is null in an array's JSON, as JSON.stringify writes it.
    return new JsonArrayParam(
      values.map((value) => storableJson(value === undefined ? null : value)),
    );
  }

  /** The array's JSON text. */
  text(): string {
    return `[${this.elements.join(',')}]`;
  }

  /** Postgres's binary jsonb input: the version byte, then the array's JSON text in UTF-8. */
  toPostgres(): Buffer {
    const { elements } = this;
    let size = 3 + Math.max(0, elements.length - 1);
    for (const element of elements) size += Buffer.byteLength(element);
    const bytes = Buffer.allocUnsafe(size);
    bytes[0] = JSONB_BINARY_VERSION;
    bytes[1] = OPEN_BRACKET;
    let offset = 2;
    for (let index = 0; index < elements.length; index++) {
      if (index > 0) bytes[offset++] = COMMA;
      offset += bytes.write(elements[index]!, offset);
    }
    bytes[offset] = CLOSE_BRACKET;
    return bytes;
  }
}
