import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';

/** Formats accepted as uploads (sniffed from the bytes, never from the file name). */
const UPLOAD_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp']);
/** Longest side of a stored input photo; larger photos are scaled down. */
const INPUT_MAX_SIDE = 2048;
/** Longest side of a thumbnail. */
const THUMBNAIL_MAX_SIDE = 384;

/** Why an image was refused; `code` is the stable problem code the API answers with. */
export class ImageRejected extends Error {
  override readonly name = 'ImageRejected';
  constructor(
    readonly code: 'empty_file' | 'unsupported_image' | 'image_too_large' | 'corrupt_image',
    message: string,
  ) {
    super(message);
  }
}

/** An image ready to store, with what the database records about it. */
export interface PreparedImage {
  bytes: Buffer;
  contentType: string;
  width: number;
  height: number;
  sha256: string;
}

/**
 * Checks an uploaded photo and normalises it: the format is sniffed from the bytes (JPEG, PNG
 * or WebP); images above `maxPixels` are refused from their header, before any decoding (a
 * decompression bomb never expands); the photo is turned upright by its EXIF orientation,
 * scaled to at most 2048 px, stripped of metadata (GPS positions of people's homes) and stored
 * as JPEG, which every image model accepts.
 */
export async function prepareUpload(
  bytes: Uint8Array,
  { maxPixels }: { maxPixels: number },
): Promise<PreparedImage> {
  if (bytes.byteLength === 0) throw new ImageRejected('empty_file', 'the file is empty');
  await assertImage(bytes, maxPixels, UPLOAD_FORMATS);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .resize({
        width: INPUT_MAX_SIDE,
        height: INPUT_MAX_SIDE,
        fit: 'inside',
        withoutEnlargement: true,
      })
      .jpeg({ quality: 90 })
      .toBuffer({ resolveWithObject: true });
    return prepared(data, 'image/jpeg', info.width, info.height);
  } catch (error) {
    throw new ImageRejected('corrupt_image', `the image cannot be decoded: ${messageOf(error)}`);
  }
}

/** A generated image as stored: the full WebP and its thumbnail. */
export interface VariantImages {
  full: PreparedImage;
  thumbnail: PreparedImage;
}

/**
 * Converts a provider's output (PNG, JPEG or WebP) to WebP and makes its thumbnail. The same
 * `maxPixels` guard applies: provider bytes are untrusted input too.
 */
export async function toVariantImages(
  bytes: Uint8Array,
  { maxPixels }: { maxPixels: number },
): Promise<VariantImages> {
  await assertImage(bytes, maxPixels, UPLOAD_FORMATS);
  try {
    const source = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
    const full = await source.clone().webp({ quality: 90 }).toBuffer({ resolveWithObject: true });
    const thumbnail = await source
      .clone()
      .resize({ width: THUMBNAIL_MAX_SIDE, height: THUMBNAIL_MAX_SIDE, fit: 'inside' })
      .webp({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return {
      full: prepared(full.data, 'image/webp', full.info.width, full.info.height),
      thumbnail: prepared(
        thumbnail.data,
        'image/webp',
        thumbnail.info.width,
        thumbnail.info.height,
      ),
    };
  } catch (error) {
    throw new ImageRejected('corrupt_image', `the image cannot be decoded: ${messageOf(error)}`);
  }
}

async function assertImage(
  bytes: Uint8Array,
  maxPixels: number,
  formats: ReadonlySet<string>,
): Promise<void> {
  let metadata: Metadata;
  try {
    // No pixel limit here: the header tells the size without decoding, and is checked below.
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageRejected('unsupported_image', 'the file is not a JPEG, PNG or WebP image');
  }
  if (!metadata.format || !formats.has(metadata.format)) {
    throw new ImageRejected('unsupported_image', 'the file is not a JPEG, PNG or WebP image');
  }
  const width = metadata.width ?? 0;
  const height = metadata.height ?? 0;
  const frames = metadata.pages ?? 1;
  if (width <= 0 || height <= 0) {
    throw new ImageRejected('corrupt_image', 'the image has no dimensions');
  }
  if (width * height * frames > maxPixels) {
    throw new ImageRejected(
      'image_too_large',
      `the image is ${width}x${height} pixels; at most ${maxPixels} pixels are accepted`,
    );
  }
}

function prepared(bytes: Buffer, contentType: string, width: number, height: number) {
  return {
    bytes,
    contentType,
    width,
    height,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
