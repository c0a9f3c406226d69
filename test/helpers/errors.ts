import { expect } from 'vitest';
import { DbError } from '../../src/db/errors.ts';

/** Awaits `promise` and returns what it rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) {
    expect.fail(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  }
  return outcome.error;
}

/** Awaits `promise`, expects a {@link DbError} with SQLSTATE `code`, and returns it. */
export async function expectDbError(promise: Promise<unknown>, code: string): Promise<DbError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(DbError);
  expect((error as DbError).code, (error as DbError).message).toBe(code);
  return error as DbError;
}
