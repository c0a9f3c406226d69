import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evalRecordSchema, MAX_LATENCY_MS } from './record.ts';
import { acceptRecordFast } from './record-fast-path.ts';
import { SCHEMA_VARIANTS } from './variants.ts';

const KNOWN_KEYS = Object.keys(evalRecordSchema.shape);

/** The record as zod sees it: only the schema's keys (zod drops the others). */
function known(record: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(
      ([key, value]) => KNOWN_KEYS.includes(key) && value !== undefined,
    ),
  );
}

const text = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.constantFrom(
    '',
    'a\u0000b',
    '\ud800',
    'x\udfff',
    '\ud83d\ude00',
    'x'.repeat(64),
    'x'.repeat(65),
  ),
);
const id = fc.oneof(
  text,
  fc.constantFrom('r1', 'x'.repeat(256), 'x'.repeat(257), '\ud83d\ude00'.repeat(128)),
  fc.integer(),
);
const createdAt = fc.oneof(
  fc
    .date({
      min: new Date(-62_135_596_800_000),
      max: new Date(253_402_300_799_000),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  fc.constantFrom(
    '2026-02-15T10:00:00Z',
    '2026-02-15T10:00:00.123456789Z',
    '2026-02-15T10:00:00+05:30',
    '2026-02-15T10:00:00-00:00',
    '2026-02-15T10:00Z',
    '2026-02-15T10:00:00',
    '2026-02-15T10:00:00z',
    '2026-02-15 10:00:00Z',
    '2026-02-30T10:00:00Z',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '2026-02-15T24:00:00Z',
    '2026-02-15T10:00:00+24:00',
    '2026-02-15T10:00:00+0530',
    '2026-02-15',
    '',
  ),
  text,
);
const variant = fc.oneof(
  fc.constantFrom(...SCHEMA_VARIANTS),
  fc.constantFrom('Sitecraft', 'blog', ''),
);
const outcome = fc.constantFrom(true, false, null, undefined, 0, 1, 'true', 'false', [], {});
const latency = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    0,
    -0,
    -1,
    0.5,
    MAX_LATENCY_MS,
    MAX_LATENCY_MS + 1,
    Number.POSITIVE_INFINITY,
    '100',
    true,
  ),
  fc.double({ noNaN: true }),
  fc.integer({ min: -10, max: 200_000 }),
);
const provider = fc.oneof(text, fc.constantFrom(null, undefined, 5, false));

const validText = fc.string({ maxLength: 64 }).filter((value) => !value.includes('\u0000'));
const mostlyValid = <T, U>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: any, weight: 1 });

const fields = (required: 'mostly-valid' | 'anything') => {
  const pick = <T, U>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<U>) =>
    required === 'mostly-valid' ? mostlyValid(valid, any) : any;
  return {
    id: pick(
      validText.filter((value) => value.length > 0),
      id,
    ),
    created_at: pick(
      fc.constantFrom('2026-02-15T10:00:00Z', '2026-02-15T10:00:00.5+01:00'),
      createdAt,
    ),
    schema_variant: pick(fc.constantFrom(...SCHEMA_VARIANTS), variant),
    output: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })),
    schema_valid: pick(fc.constantFrom(true, false, null), outcome),
    patch_apply_success: pick(fc.constantFrom(true, false, null), outcome),
    edit_after_generate: pick(fc.constantFrom(true, false, null), outcome),
    publish_conversion: pick(fc.constantFrom(true, false, null), outcome),
    safety_compliant: pick(fc.constantFrom(true, false, null), outcome),
    fallback_used: pick(fc.constantFrom(true, false, null), outcome),
    latency_ms: pick(
      fc.oneof(fc.constant(null), fc.double({ min: 0, max: 1e6, noNaN: true })),
      latency,
    ),
    requested_provider: pick(fc.oneof(fc.constant(null), validText), provider),
    selected_provider: pick(fc.oneof(fc.constant(null), validText), provider),
    route_strategy: pick(fc.oneof(fc.constant(null), validText), provider),
    extra: fc.jsonValue({ maxDepth: 1 }),
  };
};

/**
 * Records near the schema's edges: mostly valid ones with a field or two broken, and records
 * whose every field may be valid, invalid, absent or of the wrong type.
 */
const candidate = fc.oneof(
  fc.record(fields('mostly-valid'), {
    requiredKeys: ['id', 'created_at', 'schema_variant'],
  }),
  fc.record(fields('anything'), { requiredKeys: [] }),
);

describe('acceptRecordFast', () => {
  it('accepts only records zod accepts, as zod parses them (random records near the edges)', () => {
    let accepted = 0;
    let valid = 0;
    fc.assert(
      fc.property(candidate, (record) => {
        const fast = acceptRecordFast(record);
        const zod = evalRecordSchema.safeParse(record);
        if (zod.success) valid++;
        if (fast !== undefined) {
          accepted++;
          expect(zod.success).toBe(true);
          expect(known(fast)).toEqual(known(zod.data!));
        }
      }),
      { numRuns: 5_000 },
    );
    // The generator must reach both sides, or the property above proves little.
    expect(accepted).toBeGreaterThan(20);
    expect(valid).toBeGreaterThan(accepted - 1);
  });

  it('agrees with zod on records read from JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), candidate, (noise, record) => {
        for (const value of [noise, JSON.parse(JSON.stringify(record))]) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
          const fast = acceptRecordFast(value);
          if (fast !== undefined) expect(evalRecordSchema.safeParse(value).success).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('takes the common records, so zod only runs for the unusual ones', () => {
    const records = [
      { id: 'r1', created_at: '2026-02-15T10:00:00Z', schema_variant: 'sitecraft' },
      {
        id: 'gen-1',
        created_at: '2026-02-15T10:00:00.123+01:00',
        schema_variant: 'flashcards',
        output: { cards: [] },
        schema_valid: null,
        patch_apply_success: true,
        edit_after_generate: false,
        publish_conversion: null,
        safety_compliant: true,
        fallback_used: false,
        latency_ms: 840.4,
        requested_provider: null,
        selected_provider: 'openai',
        route_strategy: 'weighted',
        request_id: 'ignored',
      },
    ];
    for (const record of records) {
      expect(acceptRecordFast(record)).toBe(record);
      expect(evalRecordSchema.safeParse(record).success).toBe(true);
    }
  });

  it('leaves what it cannot prove to zod', () => {
    const base = { id: 'r1', created_at: '2026-02-15T10:00:00Z', schema_variant: 'sitecraft' };
    for (const broken of [
      { ...base, id: '' },
      { ...base, created_at: '0000-01-01T00:00:00Z' },
      { ...base, schema_variant: 'blog' },
      { ...base, latency_ms: -1 },
      { ...base, fallback_used: 'yes' },
      { ...base, selected_provider: 'x'.repeat(65) },
      { ...base, route_strategy: 'a\u0000' },
    ]) {
      expect(acceptRecordFast(broken)).toBeUndefined();
      expect(evalRecordSchema.safeParse(broken).success).toBe(false);
    }
  });
});
