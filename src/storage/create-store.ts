import type { StorageSettings } from '../config/schema.ts';
import type { BlobStore, BucketRole } from './blob-store.ts';
import { LocalBlobStore } from './local-store.ts';
import { s3PublicUrl } from './s3-public-url.ts';
import type { S3BlobStore, S3StoreOptions } from './s3-store.ts';

/** The blob store the configuration asks for (GENLOOP_STORAGE_DRIVER). */
export function createBlobStore(settings: StorageSettings): BlobStore {
  if (settings.driver === 's3') {
    return lazyS3Store({ buckets: settings.buckets, ...settings.s3 });
  }
  return new LocalBlobStore({
    dir: settings.localDir,
    buckets: settings.buckets,
    signingKey: settings.signingKey,
  });
}

/**
 * The S3 driver, whose module is imported here rather than at start-up: the AWS SDK is a large
 * dependency that a server on the local driver never needs. Public links need no SDK, so they
 * are answered at once, even while the import is still under way.
 */
function lazyS3Store(options: S3StoreOptions): BlobStore {
  const store: Promise<S3BlobStore> = import('./s3-store.ts').then(
    ({ S3BlobStore }) => new S3BlobStore(options),
  );
  // A failed import surfaces on the first call that needs the store, with its own message.
  store.catch(() => {});
  return {
    driver: 's3',
    bucketName: (role: BucketRole) => options.buckets[role],
    put: async (...args) => (await store).put(...args),
    get: async (...args) => (await store).get(...args),
    delete: async (...args) => (await store).delete(...args),
    signedUrl: async (...args) => (await store).signedUrl(...args),
    publicUrl: (path) => s3PublicUrl(options, options.buckets.renders, path),
  };
}
