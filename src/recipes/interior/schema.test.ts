import { describe, expect, it } from 'vitest';
import { interiorFieldsSchema, modeFieldErrors } from './schema.ts';

const parse = (fields: Record<string, unknown>) => interiorFieldsSchema.parse(fields);

describe('interior request rules', () => {
  it('fills defaults and coerces multipart strings', () => {
    expect(parse({ mode: 'imagine', prompt: 'x', variants: '3' })).toEqual({
      mode: 'imagine',
      prompt: 'x',
      aspect_ratio: '1:1',
      quality: 'standard',
      variants: 3,
    });
  });

  it.each([
    [{ mode: 'remodel' }, 'mode'],
    [{ mode: 'imagine', aspect_ratio: '5:4' }, 'aspect_ratio'],
    [{ mode: 'imagine', quality: 'ultra' }, 'quality'],
    [{ mode: 'imagine', variants: 5 }, 'variants'],
    [{ mode: 'imagine', variants: 0 }, 'variants'],
    [{ mode: 'imagine', style: 'gothic' }, 'style'],
    [{ mode: 'imagine', room_type: 'garage' }, 'room_type'],
    [{ mode: 'imagine', prompt: '   ' }, 'prompt'],
    [{ mode: 'imagine', prompt: 'a\u0000b' }, 'prompt'],
    [{ mode: 'imagine', prompt: 'a\uD800b' }, 'prompt'],
    [{ mode: 'imagine', prompt: 'a\uDC00b' }, 'prompt'],
    [{ mode: 'imagine', prompt: 'x'.repeat(1001) }, 'prompt'],
    [{ mode: 'imagine', colour: 'red' }, 'colour'],
  ])('refuses %j naming %s', (fields, field) => {
    const result = interiorFieldsSchema.safeParse(fields);
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys.join() : issue.path.join('.'),
    );
    expect(paths).toContain(field);
  });

  it.each([
    ['redesign', 0, 'needs exactly 1 image; got 0'],
    ['redesign', 2, 'needs exactly 1 image; got 2'],
    ['staging', 0, 'needs exactly 1 image; got 0'],
    ['compose', 1, 'needs 2 to 4 images; got 1'],
    ['compose', 5, 'needs 2 to 4 images; got 5'],
    ['imagine', 1, 'takes no images; got 1'],
  ] as const)('%s with %i image(s) is refused', (mode, count, message) => {
    const fields = parse({ mode, style: 'modern', room_type: 'bedroom', prompt: 'x' });
    expect(modeFieldErrors(fields, count, 'body.images')).toEqual([
      { field: 'body.images', code: 'image_count', message: `mode ${mode} ${message}` },
    ]);
  });

  it('names the field each mode requires', () => {
    expect(modeFieldErrors(parse({ mode: 'redesign' }), 1, 'body.images')).toEqual([
      { field: 'body.style', code: 'required', message: 'mode redesign needs style' },
    ]);
    expect(modeFieldErrors(parse({ mode: 'staging' }), 1, 'body.images')).toEqual([
      { field: 'body.room_type', code: 'required', message: 'mode staging needs room_type' },
    ]);
    expect(modeFieldErrors(parse({ mode: 'imagine' }), 0, 'body.images')).toEqual([
      { field: 'body.prompt', code: 'required', message: 'mode imagine needs prompt' },
    ]);
    expect(modeFieldErrors(parse({ mode: 'compose' }), 3, 'body.upload_ids')).toEqual([]);
  });
});
