import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { z } from 'zod';
import { type FieldError, validationFailed } from '../lib/domain-errors.ts';
import { findUnstorableText } from '../lib/storable-text.ts';

export { validationFailed };

const TARGET_NAMES: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'cookie',
};

/** Turns zod issues into field errors named by their place in the request (`body.source_text`). */
export function fieldErrors(error: z.ZodError, target: string): FieldError[] {
  const prefix = TARGET_NAMES[target] ?? target;
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') path.push(...issue.keys);
    return {
      field: [prefix, ...path].join('.'),
      code: issue.code,
      message: issue.message,
    };
  });
}

/** What a field error says about text Postgres cannot store (see `isStorableText`). */
export const INVALID_TEXT_MESSAGE =
  'must be UTF-8 text without NUL characters or lone UTF-16 surrogates';

/** The field error for text Postgres cannot store, at `field` (`body.prompt`). */
export function invalidText(field: string): FieldError {
  return { field, code: 'invalid_text', message: INVALID_TEXT_MESSAGE };
}

/**
 * Throws the 400 `validation_failed` naming the first string of a parsed body (key or value)
 * that Postgres cannot store; every route's text goes through this one check before it can
 * reach a text or jsonb column.
 */
export function rejectUnstorableText(value: unknown, prefix = 'body'): void {
  const path = findUnstorableText(value);
  if (path !== undefined) throw validationFailed([invalidText([prefix, ...path].join('.'))]);
}

/** The OpenAPIHono default hook: a failed validation is a 400 `validation_failed` with fields. */
// biome-ignore lint/suspicious/noExplicitAny: the hook serves every route, whatever its input and path types.
export const validationHook: Hook<any, Env, any, any> = (result) => {
  if (!result.success) {
    throw validationFailed(fieldErrors(result.error as z.ZodError, result.target));
  }
};
