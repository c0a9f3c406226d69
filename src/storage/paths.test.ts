import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobPath, inputPath, isSafePath, thumbnailPath, variantPath } from './paths.ts';

const user = randomUUID();
const generation = randomUUID();

describe('blob path convention', () => {
  it('puts everything of a generation under {user_id}/{generation_id}/', () => {
    expect(inputPath(user, generation, 0)).toBe(`${user}/${generation}/input-1.jpg`);
    expect(inputPath(user, generation, 3)).toBe(`${user}/${generation}/input-4.jpg`);
    expect(variantPath(user, generation, 0)).toBe(`${user}/${generation}/variant-1.webp`);
    expect(thumbnailPath(user, generation, 1)).toBe(`${user}/${generation}/variant-2-thumb.webp`);
  });

  it('refuses ids that are not uuids and file names that are not plain', () => {
    expect(() => blobPath('../etc', generation, 'x.jpg')).toThrow(RangeError);
    expect(() => blobPath(user, 'g', 'x.jpg')).toThrow(RangeError);
    expect(() => blobPath(user, generation, '../x.jpg')).toThrow(RangeError);
    expect(() => blobPath(user, generation, 'a/b.jpg')).toThrow(RangeError);
    expect(() => blobPath(user, generation, '.hidden')).toThrow(RangeError);
  });

  it.each([
    ['u/g/input-1.jpg', true],
    ['../secret', false],
    ['u/../../x', false],
    ['/abs/path', false],
    ['u//x', false],
    ['u/.env', false],
    ['u/x..y', false],
    ['', false],
    ['u/x%2F..', false],
  ])('isSafePath(%j) is %s', (path, safe) => {
    expect(isSafePath(path)).toBe(safe);
  });
});
