import { describe, expect, it } from 'vitest';
import { sqlJsonb, sqlLiteral } from './sql-literal.ts';

describe('sqlLiteral', () => {
  it('writes null, booleans and numbers as SQL', () => {
    expect(sqlLiteral(null)).toBe('null');
    expect(sqlLiteral(true)).toBe('true');
    expect(sqlLiteral(false)).toBe('false');
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(0.95)).toBe('0.95');
    expect(sqlLiteral(-3)).toBe('(-3)');
    expect(() => sqlLiteral(Number.NaN)).toThrow(TypeError);
    expect(() => sqlLiteral(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('doubles quotes, and uses E-strings with doubled backslashes when there is a backslash', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral("'; drop table ai_eval_runs; --")).toBe("'''; drop table ai_eval_runs; --'");
    expect(sqlLiteral('C:\\temp')).toBe("E'C:\\\\temp'");
    expect(sqlLiteral("\\'")).toBe("E'\\\\'''");
    expect(sqlLiteral('$$ dollar $$')).toBe("'$$ dollar $$'");
    expect(sqlLiteral('line\nbreak')).toBe("'line\nbreak'");
  });

  it('refuses what Postgres text cannot hold', () => {
    expect(() => sqlLiteral('a\u0000b')).toThrow(/NUL/);
    expect(() => sqlLiteral('\ud800')).toThrow(/surrogate/);
  });

  it('writes jsonb as a cast string literal', () => {
    expect(sqlJsonb({ a: "it's" })).toBe(`'{"a":"it''s"}'::jsonb`);
  });
});
