import { isUuid } from '../lib/uuid.ts';
import { HttpError } from './http-error.ts';

/**
 * The time as the list queries write it: `to_char(created_at at time zone 'utc',
 * 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`. Only this form is read back, so that what reaches Postgres
 * as a timestamptz is a value it is sure to accept.
 */
const TIMESTAMP = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.(\d{3})\d{3}Z$/;
/** The encoder writes 86 characters; anything much longer is not worth decoding. */
const MAX_LENGTH = 128;

/** A position in a list ordered by (created_at, id), newest first. */
export interface Cursor {
  createdAt: string;
  id: string;
}

/**
 * Encodes a keyset cursor over (created_at, id), opaque to clients. `createdAt` is in the form
 * the list queries select (microseconds, UTC, `Z`).
 *
 * @example
 * encodeCursor('2024-02-29T23:59:59.123456Z', row.id)
 */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeCursor}: canonical base64url of a timestamp in exactly the
 * encoder's form that names a real instant (no February 30th, hour 24, leap second or year 0)
 * and a UUID. Anything else is a 400 `invalid_cursor` naming `query.cursor`.
 */
export function decodeCursor(cursor: string): Cursor {
  if (cursor.length > MAX_LENGTH) throw invalidCursor();
  const decoded = Buffer.from(cursor, 'base64url');
  // Node skips characters that are not base64url; re-encoding catches them and any padding.
  if (decoded.toString('base64url') !== cursor) throw invalidCursor();
  const parts = decoded.toString('utf8').split('|');
  if (parts.length !== 2) throw invalidCursor();
  const [createdAt, id] = parts as [string, string];
  if (!isUuid(id) || !isRealInstant(createdAt)) throw invalidCursor();
  return { createdAt, id: id.toLowerCase() };
}

/** True for a timestamp in the encoder's form whose calendar fields name an existing instant. */
function isRealInstant(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  // Year 0 exists for JavaScript but not for Postgres, which counts 1 BC before AD 1.
  if (match[1] === '0000') return false;
  const milliseconds = `${text.slice(0, 19)}.${match[2]}Z`;
  const time = Date.parse(milliseconds);
  // Date normalises what it cannot represent (Feb 30th becomes March 1st): compare round trips.
  return !Number.isNaN(time) && new Date(time).toISOString() === milliseconds;
}

function invalidCursor(): HttpError {
  return new HttpError(400, 'invalid_cursor', 'invalid cursor', {
    errors: [
      {
        field: 'query.cursor',
        code: 'invalid',
        message: 'use next_cursor from the previous page',
      },
    ],
  });
}
