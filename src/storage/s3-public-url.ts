import { isSafePath } from './paths.ts';

/**
 * The public link of a rendered image on the S3 driver: `<publicUrl>/<bucket>/<key>`, else the
 * endpoint's path-style address, else AWS's virtual-hosted address. Plain string work with no
 * SDK, so links can be answered while the SDK itself is still loading.
 */
export function s3PublicUrl(
  options: { publicUrl?: string | undefined; endpoint?: string | undefined; region: string },
  bucket: string,
  path: string,
): string {
  if (!isSafePath(path)) throw new RangeError(`unsafe blob path: ${path}`);
  const key = path.split('/').map(encodeURIComponent).join('/');
  if (options.publicUrl) return `${options.publicUrl.replace(/\/+$/, '')}/${bucket}/${key}`;
  if (options.endpoint) return `${options.endpoint.replace(/\/+$/, '')}/${bucket}/${key}`;
  return `https://${bucket}.s3.${options.region}.amazonaws.com/${key}`;
}
