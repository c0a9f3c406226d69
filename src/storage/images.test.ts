import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { photo, pngBomb } from '../../test/interior/fixtures.ts';
import { ImageRejected, prepareUpload, toVariantImages } from './images.ts';

const limits = { maxPixels: 40_000_000 };

async function rejection(promise: Promise<unknown>): Promise<ImageRejected> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImageRejected);
  return error as ImageRejected;
}

describe('upload checks', () => {
  it('normalises a photo to an upright, metadata-free JPEG', async () => {
    const withExif = await sharp(await photo('jpeg', 300, 200))
      .withMetadata({ orientation: 6, exif: { IFD0: { Copyright: 'someone' } } })
      .jpeg()
      .toBuffer();
    const prepared = await prepareUpload(withExif, limits);
    expect(prepared.contentType).toBe('image/jpeg');
    // Orientation 6 is a 90° turn: the stored photo is upright, so its sides swap.
    expect({ width: prepared.width, height: prepared.height }).toEqual({ width: 200, height: 300 });
    const metadata = await sharp(prepared.bytes).metadata();
    expect(metadata.exif).toBeUndefined();
    expect(metadata.orientation).toBeUndefined();
    expect(prepared.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('scales a large photo down to 2048 px on its longer side', async () => {
    const prepared = await prepareUpload(await photo('png', 3000, 1500), limits);
    expect(prepared).toMatchObject({ width: 2048, height: 1024 });
  });

  it('accepts PNG and WebP too', async () => {
    await expect(prepareUpload(await photo('png'), limits)).resolves.toMatchObject({ width: 320 });
    await expect(prepareUpload(await photo('webp'), limits)).resolves.toMatchObject({ width: 320 });
  });

  it('refuses a zero-byte file', async () => {
    expect((await rejection(prepareUpload(new Uint8Array(), limits))).code).toBe('empty_file');
  });

  it('refuses text named .png (the bytes decide, not the name)', async () => {
    const error = await rejection(prepareUpload(Buffer.from('<html>not an image</html>'), limits));
    expect(error.code).toBe('unsupported_image');
  });

  it('refuses an image format outside JPEG, PNG and WebP', async () => {
    const gif = await sharp(await photo('png', 16, 16))
      .gif()
      .toBuffer();
    expect((await rejection(prepareUpload(gif, limits))).code).toBe('unsupported_image');
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const bomb = pngBomb(8_000);
    expect(bomb.length).toBeLessThan(200_000);
    const error = await rejection(prepareUpload(bomb, limits));
    expect(error.code).toBe('image_too_large');
    expect(error.message).toContain('8000x8000');
  });

  it('refuses a truncated image as corrupt', async () => {
    const truncated = (await photo('png', 200, 200)).subarray(0, 300);
    const error = await rejection(prepareUpload(truncated, limits));
    expect(['corrupt_image', 'unsupported_image']).toContain(error.code);
  });
});

describe('variant conversion', () => {
  it('converts a PNG output to WebP with a thumbnail of at most 384 px', async () => {
    const images = await toVariantImages(await photo('png', 1024, 576), limits);
    expect(images.full).toMatchObject({ contentType: 'image/webp', width: 1024, height: 576 });
    expect(images.thumbnail).toMatchObject({ contentType: 'image/webp', width: 384, height: 216 });
    expect((await sharp(images.full.bytes).metadata()).format).toBe('webp');
    expect((await sharp(images.thumbnail.bytes).metadata()).format).toBe('webp');
  });

  it('applies the same pixel limit to provider outputs', async () => {
    expect((await rejection(toVariantImages(pngBomb(8_000), limits))).code).toBe('image_too_large');
  });
});
