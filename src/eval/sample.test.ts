import { describe, expect, it } from 'vitest';
import { judgeRecord } from './sample.ts';

const base = { id: 'r1', created_at: '2026-02-15T10:00:00Z' };

describe('judgeRecord', () => {
  it('lets an explicit outcome win over the computed one', () => {
    const sample = judgeRecord(
      {
        ...base,
        schema_variant: 'sitecraft',
        output: { nope: true },
        schema_valid: true,
        safety_compliant: false,
      },
      'sitecraft',
    );
    expect(sample.schema_valid).toBe(true);
    expect(sample.safety_compliant).toBe(false);
    expect(sample.notes).toEqual({});
  });

  it('computes from the output when the outcome is null, and notes why it failed', () => {
    const sample = judgeRecord(
      {
        ...base,
        schema_variant: 'sitecraft',
        schema_valid: null,
        output: {
          title: 't',
          sections: [{ id: 'a', type: 'hero', html: '<iframe src="x"></iframe>' }],
        },
      },
      'sitecraft',
    );
    expect(sample.schema_valid).toBe(true);
    expect(sample.safety_compliant).toBe(false);
    expect(sample.notes).toEqual({ safety_violation: '<iframe> is not an allowed element' });
  });

  it('does not compute safety for variants without HTML', () => {
    const sample = judgeRecord(
      { ...base, schema_variant: 'flashcards', output: { cards: [{ front: 'Q', back: 'A' }] } },
      'flashcards',
    );
    expect(sample.schema_valid).toBe(true);
    expect(sample.safety_compliant).toBeNull();
  });

  it('copies routing fields and rounds latency to whole milliseconds', () => {
    const sample = judgeRecord(
      {
        ...base,
        schema_variant: 'generic',
        latency_ms: 12.5,
        fallback_used: true,
        requested_provider: 'custom',
        selected_provider: 'openai',
        route_strategy: 'fallback',
      },
      'generic',
    );
    expect(sample).toMatchObject({
      record_id: 'r1',
      record_created_at: '2026-02-15T10:00:00Z',
      latency_ms: 13,
      fallback_used: true,
      requested_provider: 'custom',
      selected_provider: 'openai',
      route_strategy: 'fallback',
      schema_valid: null,
      patch_apply_success: null,
    });
  });
});
