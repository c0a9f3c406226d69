import { Hono } from 'hono';
import { HttpError } from '../http/http-error.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalBlobStore } from './local-store.ts';
import { isSafePath } from './paths.ts';
import { verifyLink } from './signed-link.ts';

/**
 * `GET /files/<bucket>/<path>` for the local storage driver: objects of the public renders
 * bucket to anyone, objects of the private uploads bucket only with an unexpired signature
 * (`?expires=&signature=`, as {@link LocalBlobStore.signedUrl} makes them). Mounted only when
 * the store is local; the S3 driver's links point at S3.
 */
export function fileRoutes(store: BlobStore) {
  const app = new Hono();
  if (!(store instanceof LocalBlobStore)) return app;
  app.on(['GET', 'HEAD'], '/files/:bucket/:path{.+}', async (c) => {
    const bucket = c.req.param('bucket');
    const path = c.req.param('path');
    const role = store.roleOf(bucket);
    if (!role || !isSafePath(path)) throw new HttpError(404, 'not_found', 'file not found');
    if (
      role === 'uploads' &&
      !verifyLink(store.signingKey, bucket, path, c.req.query('expires'), c.req.query('signature'))
    ) {
      throw new HttpError(403, 'link_invalid', 'the link is invalid or has expired');
    }
    const blob = await store.get(role, path);
    if (!blob) throw new HttpError(404, 'not_found', 'file not found');
    const headers = {
      'content-type': blob.contentType,
      'content-length': String(blob.bytes.length),
      'x-content-type-options': 'nosniff',
      'cache-control':
        role === 'renders' ? 'public, max-age=31536000, immutable' : 'private, no-store',
    };
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    return c.body(new Uint8Array(blob.bytes), 200, headers);
  });
  return app;
}
