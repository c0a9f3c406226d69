import type { StorageSettings } from '../config/schema.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalBlobStore } from './local-store.ts';
import { S3BlobStore } from './s3-store.ts';

/** The blob store the configuration asks for (GENLOOP_STORAGE_DRIVER). */
export function createBlobStore(settings: StorageSettings): BlobStore {
  if (settings.driver === 's3') {
    return new S3BlobStore({ buckets: settings.buckets, ...settings.s3 });
  }
  return new LocalBlobStore({
    dir: settings.localDir,
    buckets: settings.buckets,
    signingKey: settings.signingKey,
  });
}
