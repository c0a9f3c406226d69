/**
 * Blob path convention (docs/interior.md): every object of a generation lives under
 * `{user_id}/{generation_id}/`, so one prefix holds everything a user made and a delete by
 * generation is a prefix. Inputs are `input-{n}.jpg` in the uploads bucket; outputs are
 * `variant-{n}.webp` and `variant-{n}-thumb.webp` in the renders bucket (n from 1).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The path of one object of a generation; throws on ids that are not lower-case uuids. */
export function blobPath(userId: string, generationId: string, file: string): string {
  if (!UUID.test(userId)) throw new RangeError(`blob path: user id ${userId} is not a uuid`);
  if (!UUID.test(generationId)) {
    throw new RangeError(`blob path: generation id ${generationId} is not a uuid`);
  }
  if (!SEGMENT.test(file) || file.includes('..')) {
    throw new RangeError(`blob path: ${file} is not a plain file name`);
  }
  return `${userId}/${generationId}/${file}`;
}

/** `input-1.jpg`, `input-2.jpg`, ...: the normalised photos a generation was given. */
export function inputPath(userId: string, generationId: string, index: number): string {
  return blobPath(userId, generationId, `input-${index + 1}.jpg`);
}

/** `variant-1.webp`, ...: one generated image, converted to WebP. */
export function variantPath(userId: string, generationId: string, index: number): string {
  return blobPath(userId, generationId, `variant-${index + 1}.webp`);
}

/** `variant-1-thumb.webp`, ...: the thumbnail of a variant. */
export function thumbnailPath(userId: string, generationId: string, index: number): string {
  return blobPath(userId, generationId, `variant-${index + 1}-thumb.webp`);
}

/**
 * True when `path` is a relative object path made of plain segments (no `..`, no empty or
 * hidden segments): what the stores and the file route accept.
 */
export function isSafePath(path: string): boolean {
  if (path.length === 0 || path.length > 512) return false;
  return path.split('/').every((segment) => SEGMENT.test(segment) && !segment.includes('..'));
}

/**
 * True when `path` is a safe object path under `userId`'s own prefix. Workers check every path
 * they read from a row before they sign or fetch it, so a row that names another user's object
 * (however it got there) can never hand that object out.
 */
export function isOwnedPath(userId: string, path: string): boolean {
  return UUID.test(userId) && path.startsWith(`${userId}/`) && isSafePath(path);
}
