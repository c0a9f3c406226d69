import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../src/storage/s3-store.ts';
import { drivers } from '../helpers/db.ts';
import { photo } from './fixtures.ts';
import {
  form,
  type InteriorStack,
  json,
  startInteriorStack,
  submit,
  waitForStatus,
} from './stack.ts';

/** The same flow with the S3 driver (s3rver): objects in buckets, presigned inputs, public renders. */
for (const driver of drivers) {
  describe(`interior with the S3 driver (s3rver) [${driver}]`, () => {
    let s3: S3rver;
    let store: S3BlobStore;
    let stack: InteriorStack;
    let endpoint = '';
    const folder = mkdtempSync(join(tmpdir(), 'genloop-s3rver-flow-'));

    beforeAll(async () => {
      s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: folder });
      const { port } = await s3.run();
      endpoint = `http://127.0.0.1:${port}`;
      store = new S3BlobStore({
        buckets: { uploads: 'genloop-uploads', renders: 'genloop-renders' },
        endpoint,
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
      });
      await store.createMissingBuckets();
      stack = await startInteriorStack(driver, { store });
    });
    afterAll(async () => {
      await stack?.close();
      store?.close();
      await s3?.close();
      rmSync(folder, { recursive: true, force: true });
    });

    it('redesign: the photo goes to the private bucket, variants to the public one, delete removes them', async () => {
      await stack.startWorker();
      const userId = randomUUID();
      const token = await stack.token(userId);
      const created = await submit(
        stack,
        token,
        form({ mode: 'redesign', style: 'scandinavian', quality: 'draft', variants: 2 }, [
          await photo('png', 300, 200),
        ]),
      );
      expect(created.status).toBe(202);
      const { id } = await json(created);
      const done = await waitForStatus(stack, token, id);
      expect(done.status).toBe('succeeded');

      // The provider got a presigned link to the private object.
      const sent = stack.simulator
        .requests({ provider: 'replicate', method: 'POST', path: /predictions$/ })
        .at(-1)!.body as { input: { image: string } };
      const link = new URL(sent.input.image);
      expect(`${link.origin}${link.pathname}`).toBe(
        `${endpoint}/genloop-uploads/${userId}/${id}/input-1.jpg`,
      );
      expect(link.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      const input = await store.get('uploads', `${userId}/${id}/input-1.jpg`);
      expect(input?.contentType).toBe('image/jpeg');

      expect(done.variants.map((variant: { url: string }) => variant.url)).toEqual([
        `${endpoint}/genloop-renders/${userId}/${id}/variant-1.webp`,
        `${endpoint}/genloop-renders/${userId}/${id}/variant-2.webp`,
      ]);
      for (const variant of done.variants) {
        const response = await fetch(variant.url);
        expect(response.status).toBe(200);
        const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
        expect(meta.format).toBe('webp');
      }
      const stored = await store.get('renders', `${userId}/${id}/variant-1-thumb.webp`);
      expect(stored?.contentType).toBe('image/webp');

      const renders = await json(await stack.fetch('/api/v1/renders', { token }));
      const deleted = await stack.fetch(`/api/v1/renders/${renders.data[0].id}`, {
        token,
        method: 'DELETE',
      });
      expect(deleted.status).toBe(204);
      for (const file of ['variant-1.webp', 'variant-1-thumb.webp', 'variant-2.webp']) {
        expect(await store.get('renders', `${userId}/${id}/${file}`)).toBeUndefined();
      }
      await stack.stopWorkers();
    });
  });
}
