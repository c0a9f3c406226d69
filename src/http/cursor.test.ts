import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { HttpError } from './http-error.ts';

/** A timestamp as the list queries write it: to_char(..., 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'). */
const asQueryWrites = (time: Date, micros: number) =>
  `${time.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;

describe('list cursors', () => {
  it('decode what they encode, for any instant Postgres can hold in four-digit years', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 999 }),
        fc.uuid(),
        (time, micros, id) => {
          const createdAt = asQueryWrites(time, micros);
          expect(decodeCursor(encodeCursor(createdAt, id))).toEqual({ createdAt, id });
        },
      ),
    );
  });

  it('refuse anything else with invalid_cursor naming query.cursor', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (cursor) => {
        let decoded: unknown;
        try {
          decoded = decodeCursor(cursor);
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).code).toBe('invalid_cursor');
          expect((error as HttpError).errors?.[0]?.field).toBe('query.cursor');
          return;
        }
        // The rare random string that is a well-formed cursor round-trips.
        expect(
          encodeCursor(
            (decoded as { createdAt: string }).createdAt,
            (decoded as { id: string }).id,
          ),
        ).toBe(cursor);
      }),
    );
  });
});
