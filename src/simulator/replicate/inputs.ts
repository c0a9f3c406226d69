import { hashString } from '../seeded.ts';

export type ImageFormat = 'png' | 'webp' | 'jpg';

/** What an image prediction will produce, read from its input the way image models read it. */
export interface ImageParams {
  width: number;
  height: number;
  format: ImageFormat;
  count: number;
  seed: number;
  prompt: string;
}

/** One field Replicate's input validation rejects (its 422 lists them as `invalid_fields`). */
export interface InvalidField {
  field: string;
  description: string;
}

const MIN_SIDE = 16;
const MAX_SIDE = 2048;

/**
 * Reads the image inputs: `width`/`height`, else `aspect_ratio` (`W:H`) at `megapixels` (default
 * 1, sides rounded to multiples of 16); `num_outputs` 1–4; `output_format` png (default), webp or
 * jpg; `seed`, else a hash of the prompt. Unusable values come back as invalid fields.
 */
export function imageParams(
  input: Record<string, unknown>,
): ImageParams | { invalid: InvalidField[] } {
  const invalid: InvalidField[] = [];
  const prompt = typeof input.prompt === 'string' ? input.prompt : '';
  if (input.prompt !== undefined && typeof input.prompt !== 'string') {
    invalid.push({
      field: 'input.prompt',
      description: `Invalid type. Expected: string, given: ${typeOf(input.prompt)}`,
    });
  }

  const count = input.num_outputs ?? 1;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 4) {
    invalid.push({ field: 'input.num_outputs', description: 'Must be an integer from 1 to 4' });
  }

  const rawFormat = input.output_format ?? 'png';
  const format = rawFormat === 'jpeg' ? 'jpg' : rawFormat;
  if (format !== 'png' && format !== 'webp' && format !== 'jpg') {
    invalid.push({ field: 'input.output_format', description: 'Must be one of: png, webp, jpg' });
  }

  let width: number | undefined;
  let height: number | undefined;
  if (input.width !== undefined || input.height !== undefined) {
    for (const side of ['width', 'height'] as const) {
      const value = input[side];
      if (
        !Number.isInteger(value) ||
        (value as number) < MIN_SIDE ||
        (value as number) > MAX_SIDE
      ) {
        invalid.push({
          field: `input.${side}`,
          description: `Must be an integer from ${MIN_SIDE} to ${MAX_SIDE}`,
        });
      }
    }
    width = input.width as number;
    height = input.height as number;
  } else {
    const ratio = parseAspectRatio(input.aspect_ratio ?? '1:1');
    const megapixels = Number(input.megapixels ?? 1);
    if (ratio === undefined) {
      invalid.push({ field: 'input.aspect_ratio', description: 'Must look like 16:9' });
    } else if (!Number.isFinite(megapixels) || megapixels <= 0 || megapixels > 4) {
      invalid.push({
        field: 'input.megapixels',
        description: 'Must be a number above 0 and at most 4',
      });
    } else {
      const area = megapixels * 1024 * 1024;
      width = clampSide(Math.sqrt(area * ratio));
      height = clampSide(Math.sqrt(area / ratio));
    }
  }

  const seed =
    input.seed === undefined || input.seed === null ? hashString(`image:${prompt}`) : input.seed;
  if (!Number.isInteger(seed))
    invalid.push({ field: 'input.seed', description: 'Must be an integer' });

  if (invalid.length > 0) return { invalid };
  return {
    width: width!,
    height: height!,
    format: format as ImageFormat,
    count: count as number,
    seed: seed as number,
    prompt,
  };
}

function parseAspectRatio(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = value.match(/^(\d{1,3}):(\d{1,3})$/);
  if (!match) return undefined;
  const ratio = Number(match[1]) / Number(match[2]);
  return Number.isFinite(ratio) && ratio >= 1 / 8 && ratio <= 8 ? ratio : undefined;
}

function clampSide(value: number): number {
  return Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.round(value / 16) * 16));
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}
