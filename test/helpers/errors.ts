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

/** A problem document as genloop answers errors. */
export interface ProblemBody {
  code: string;
  detail?: string;
  errors?: Array<{ field: string; code: string; message: string }>;
  error?: { message: string; type: string; param: string | null; code: string };
}

/**
 * Expects `response` to be a problem with `status` and `code`, and, when `field` is given, a field
 * error for it (with `fieldCode` when given). Returns the problem.
 */
export async function expectProblem(
  response: Response,
  status: number,
  code: string,
  field?: { field: string; code?: string },
): Promise<ProblemBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  const problem = (await response.json()) as ProblemBody;
  expect(problem.code).toBe(code);
  if (field) expect(problem.errors).toContainEqual(expect.objectContaining(field));
  return problem;
}
