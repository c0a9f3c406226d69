import { HttpError } from './http-error.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A keyset cursor over (created_at, id), opaque to clients (the format the flashcard list uses). */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

/** Reads a cursor from `encodeCursor`; a 400 naming `query.cursor` otherwise. */
export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || !UUID.test(id) || Number.isNaN(Date.parse(createdAt))) {
    throw new HttpError(400, 'invalid_cursor', 'invalid cursor', {
      errors: [
        {
          field: 'query.cursor',
          code: 'invalid',
          message: 'use next_cursor from the previous page',
        },
      ],
    });
  }
  return { createdAt, id };
}
