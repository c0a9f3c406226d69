import type { Db, Queryable } from './types.ts';

/** The JWT claims of the caller, as Supabase issues them. */
export interface Claims {
  sub: string;
  role: 'authenticated' | 'service_role' | 'anon';
  [claim: string]: unknown;
}

const ROLES = new Set(['authenticated', 'service_role', 'anon']);

/**
 * Runs `fn` in a transaction as the caller, the way PostgREST does: `set local role` to the
 * claims' role and `request.jwt.claims` set for this transaction only, so row-level security
 * (`user_id = auth.uid()`) decides what the statements see. Both settings end with the
 * transaction and never reach the next user of a pooled connection.
 *
 * @example
 * const rows = await asUser(db, { sub: userId, role: 'authenticated' }, (tx) =>
 *   tx.query('select id from ai_generations'),
 * );
 */
export function asUser<T>(db: Db, claims: Claims, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  if (!ROLES.has(claims.role))
    throw new TypeError(`unknown database role in claims: ${claims.role}`);
  return db.transaction(async (tx) => {
    await tx.query(
      `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
              set_config('request.jwt.claim.sub', $3, true), set_config('request.jwt.claim.role', $1, true)`,
      [claims.role, JSON.stringify(claims), claims.sub],
    );
    return fn(tx);
  });
}

/**
 * Runs `fn` in a transaction as genloop itself (workers, webhooks, admin): the connection's own
 * role, which row-level security does not restrict. Use only where no user is the caller.
 */
export function asService<T>(db: Db, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(fn);
}
