import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { ResolvedConfig } from '../../config/schema.ts';
import type { Db } from '../../db/types.ts';
import { HttpError } from '../../http/http-error.ts';
import { problemContent } from '../../http/problem-schema.ts';
import { serialise } from '../../http/route-helpers.ts';

/** What the admin routes are built from. */
export interface AdminDeps {
  db: Db;
  config: ResolvedConfig;
}

/** An error answer of a route's OpenAPI definition. */
export const problem = (description: string) => ({ description, content: problemContent });

/** The answers every admin route may give besides its own: who may call it. */
export const ADMIN_ERRORS = {
  401: problem('Missing or invalid token'),
  403: problem('Not the service role: sign in with a service-role token or an API key'),
} as const;

export const adminSecurity = [{ bearerAuth: [] }];

/**
 * Who made a change, for the rollout log: the token's subject, or for an API key a short digest
 * of the key (enough to tell keys apart, never enough to use one).
 */
export function operatorOf(c: Context): string {
  const auth = c.get('auth');
  if (auth.kind !== 'api_key') return auth.userId;
  const key = /^Bearer\s+(\S+)/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
  return `api-key:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** A row as the API documents it (ISO times), typed as the route's schema says. */
export function rowAs<T>(row: object): T {
  return serialise(row as Record<string, unknown>) as T;
}

/** {@link rowAs} for each row. */
export function rowsAs<T>(rows: readonly object[]): T[] {
  return rows.map((row) => rowAs<T>(row));
}

const ID_CURSOR = /^id:([1-9][0-9]{0,14})$/;

/**
 * Cursor of a list ordered by a bigint id, newest first (eval runs, the rollout log): opaque to
 * clients, read back strictly like http/cursor.ts reads keyset cursors.
 */
export function encodeIdCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

/** The id in a cursor of {@link encodeIdCursor}; anything else is a 400 naming `query.cursor`. */
export function decodeIdCursor(cursor: string): number {
  const decoded = cursor.length <= 32 ? Buffer.from(cursor, 'base64url') : undefined;
  const match =
    decoded && decoded.toString('base64url') === cursor
      ? ID_CURSOR.exec(decoded.toString('utf8'))
      : null;
  if (!match) {
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
  return Number(match[1]);
}

/**
 * One page out of `limit + 1` rows read: the first `limit`, and whether there are more (the
 * caller makes the next cursor from the last row kept).
 */
export function pageOf<T>(rows: T[], limit: number): { rows: T[]; last: T | undefined } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { rows: kept, last: more ? kept.at(-1) : undefined };
}
