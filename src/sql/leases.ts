import type { Queryable } from '../db/types.ts';

/**
 * Takes or renews the lease `name` for `holder` for `ttlMs`, and says whether `holder` has it
 * now. One statement, no session state: it works through a transaction-mode pooler, where a
 * session advisory lock would be lost with the connection it was taken on. A lease changes hands
 * only once it has expired by the database's clock, so replicas never compare their own clocks.
 */
export async function acquireLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const { rows } = await db.query<{ holder: string }>(
    `insert into public.genloop_leases as l (name, holder, expires_at)
     values ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
     on conflict (name) do update
       set holder = excluded.holder, expires_at = excluded.expires_at
       where l.expires_at < now() or l.holder = excluded.holder
     returning holder`,
    [name, holder, ttlMs],
  );
  return rows[0]?.holder === holder;
}

/** Gives the lease up at once (when `holder` has it), so another replica need not wait it out. */
export async function releaseLease(db: Queryable, name: string, holder: string): Promise<void> {
  await db.query('delete from public.genloop_leases where name = $1 and holder = $2', [
    name,
    holder,
  ]);
}

/** Who holds the lease `name` now, if anyone. */
export async function leaseHolder(db: Queryable, name: string): Promise<string | undefined> {
  const { rows } = await db.query<{ holder: string }>(
    'select holder from public.genloop_leases where name = $1 and expires_at >= now()',
    [name],
  );
  return rows[0]?.holder;
}
