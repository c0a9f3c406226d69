import { storableJson } from '../lib/storable-text.ts';

/**
 * A query parameter that encodes itself for each driver: node-postgres calls `toPostgres` (its
 * own hook for custom values; a Buffer is sent in Postgres's binary input format), and the
 * embedded driver passes `embedded()` to PGlite, which serialises JavaScript values and text.
 *
 * They exist for the batch statements of the job and telemetry paths, where one parameter holds
 * a value for each of up to a thousand rows. node-postgres writes an array as its text literal,
 * each element escaped by two regular expressions into a growing string; for text (the cards'
 * fronts and backs, the completions' JSON) the binary format needs no escaping, only a length
 * and the bytes, and Postgres reads it without parsing quotes. uuid and number arrays stay
 * node-postgres's own: their literal needs no escaping, and is as cheap to build as their
 * binary form.
 */
export abstract class DriverParam {
  abstract toPostgres(): Buffer;
  abstract embedded(): unknown;
}

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
 * element's text is small and flat, and is written straight into the parameter's bytes, so the
 * array's text never exists as one string on the node-postgres path.
 */
export class JsonArrayParam extends DriverParam {
  private constructor(readonly elements: readonly string[]) {
    super();
  }

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

  embedded(): string {
    return this.text();
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

const TEXT_OID = 25;
/** A one-dimensional array's header: ndim, has-null flag, element type, length, lower bound. */
const ARRAY_HEADER_BYTES = 20;

function arrayHeader(size: number, elementOid: number, length: number, hasNull: boolean): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  bytes.writeInt32BE(1, 0);
  bytes.writeInt32BE(hasNull ? 1 : 0, 4);
  bytes.writeUInt32BE(elementOid, 8);
  bytes.writeInt32BE(length, 12);
  bytes.writeInt32BE(1, 16);
  return bytes;
}

/** A `$n::text[]` parameter, sent in Postgres's binary array format (no escaping). */
export class TextArrayParam extends DriverParam {
  constructor(readonly values: readonly (string | null)[]) {
    super();
  }

  embedded(): readonly (string | null)[] {
    return this.values;
  }

  toPostgres(): Buffer {
    const { values } = this;
    let size = ARRAY_HEADER_BYTES + 4 * values.length;
    let hasNull = false;
    for (const value of values) {
      if (value === null) hasNull = true;
      else size += Buffer.byteLength(value);
    }
    const bytes = arrayHeader(size, TEXT_OID, values.length, hasNull);
    let offset = ARRAY_HEADER_BYTES;
    for (const value of values) {
      if (value === null) {
        offset = bytes.writeInt32BE(-1, offset);
        continue;
      }
      const length = bytes.write(value, offset + 4);
      bytes.writeInt32BE(length, offset);
      offset += 4 + length;
    }
    return bytes;
  }
}
