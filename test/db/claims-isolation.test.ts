import { afterAll, beforeAll, expect, it } from 'vitest';
import { asUser, type Claims } from '../../src/db/context.ts';
import { PG } from '../../src/db/errors.ts';
import { createPgDb } from '../../src/db/pg-driver.ts';
import type { Db, Queryable } from '../../src/db/types.ts';
import { describeEachDriver } from '../helpers/db.ts';
import { expectDbError, rejectionOf } from '../helpers/errors.ts';
import { userClaims } from '../helpers/users.ts';

interface Session {
  backend_pid: number;
  current_user: string;
  session_user: string;
  claims: string | null;
  claim_sub: string | null;
  claim_role: string | null;
  uid: string | null;
  role: string | null;
}

const SESSION_SQL = `
  select pg_backend_pid() as backend_pid,
         current_user::text as current_user,
         session_user::text as session_user,
         current_setting('request.jwt.claims', true) as claims,
         current_setting('request.jwt.claim.sub', true) as claim_sub,
         current_setting('request.jwt.claim.role', true) as claim_role,
         auth.uid()::text as uid,
         auth.role() as role`;

async function session(target: Queryable): Promise<Session> {
  return (await target.query<Session>(SESSION_SQL)).rows[0]!;
}

describeEachDriver('user claims never leak to the next transaction', (use, driver) => {
  // One connection, so the next query is guaranteed to reuse the connection asUser ran on.
  let db: Db;
  let initial: Session;

  beforeAll(async () => {
    db = driver === 'pg' ? createPgDb({ connectionString: use().url!, max: 1 }) : use().db;
    initial = await session(db);
  });

  afterAll(async () => {
    if (driver === 'pg') await db.close();
  });

  const expectClean = async () => {
    const now = await session(db);
    expect(now.backend_pid).toBe(initial.backend_pid);
    expect(now.current_user).toBe(initial.session_user);
    expect(now.current_user).toBe(now.session_user);
    expect([null, '']).toContain(now.claims);
    expect([null, '']).toContain(now.claim_sub);
    expect([null, '']).toContain(now.claim_role);
    expect(now.uid).toBeNull();
    expect(now.role).toBeNull();
  };

  it('starts as the connection user with no claims', async () => {
    expect(initial.current_user).toBe(initial.session_user);
    expect(initial.uid).toBeNull();
  });

  it('inside asUser the transaction runs as authenticated with the caller as auth.uid()', async () => {
    const claims = userClaims();
    const inside = await asUser(db, claims, session);
    expect(inside.backend_pid).toBe(initial.backend_pid);
    expect(inside.current_user).toBe('authenticated');
    expect(inside.uid).toBe(claims.sub);
    expect(inside.role).toBe('authenticated');
    expect(JSON.parse(inside.claims!)).toMatchObject({ sub: claims.sub, role: 'authenticated' });
  });

  it('after a committed asUser transaction the next query has no role and no claims', async () => {
    await asUser(db, userClaims(), session);
    await expectClean();
  });

  it('after an asUser transaction that throws, the next query has no role and no claims', async () => {
    const thrown = new Error('the caller failed halfway');
    const error = await rejectionOf(
      asUser(db, userClaims(), async (tx) => {
        await session(tx);
        throw thrown;
      }),
    );
    expect(error).toBe(thrown);
    await expectClean();
  });

  it('after an asUser transaction that a database error aborted, the next query is clean', async () => {
    await expectDbError(
      asUser(db, userClaims(), (tx) => tx.query('select * from rate_limits')),
      PG.insufficientPrivilege,
    );
    await expectClean();
  });

  it('a service transaction after a user transaction is not limited by row-level security', async () => {
    const claims = userClaims();
    await db.query(`insert into cards (user_id, front, back) values ($1, 'f', 'b')`, [claims.sub]);
    await asUser(db, userClaims(), (tx) => tx.query('select count(*) from cards'));
    const { rows } = await db.transaction((tx) =>
      tx.query<{ count: number }>('select count(*)::int as count from cards where user_id = $1', [
        claims.sub,
      ]),
    );
    expect(rows[0]!.count).toBe(1);
    await expectClean();
  });

  it('refuses claims whose role is not anon, authenticated or service_role', async () => {
    const claims = { ...userClaims(), role: 'postgres' } as unknown as Claims;
    expect(() => asUser(db, claims, session)).toThrow(/unknown database role in claims: postgres/);
    await expectClean();
  });

  it('claims of one user never reach the next user on the same connection', async () => {
    const first = userClaims();
    const second = userClaims();
    await asUser(db, first, session);
    const seen = await asUser(db, second, session);
    expect(seen.backend_pid).toBe(initial.backend_pid);
    expect(seen.uid).toBe(second.sub);
    expect(JSON.parse(seen.claims!).sub).toBe(second.sub);
  });
});
