/** The two buckets of the interior flow: user photos (private) and generated renders (public). */
export type BucketRole = 'uploads' | 'renders';

export const BUCKET_ROLES: readonly BucketRole[] = ['uploads', 'renders'];

/** An object read back from a store. */
export interface StoredBlob {
  bytes: Buffer;
  contentType: string;
}

/**
 * Where genloop keeps binary objects: the local folder driver (default) or an S3-compatible
 * service. Objects are addressed by bucket role and a path that follows {@link blobPath}'s
 * convention; the store maps the role to its configured bucket name.
 */
export interface BlobStore {
  readonly driver: 'local' | 's3';
  /** The configured bucket name of a role (stored in `uploads.bucket` / `render_variants.bucket`). */
  bucketName(role: BucketRole): string;
  /** Writes (or overwrites) one object; writing the same bytes twice is harmless. */
  put(role: BucketRole, path: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** Reads one object; undefined when it does not exist. */
  get(role: BucketRole, path: string): Promise<StoredBlob | undefined>;
  /** Deletes objects; missing ones are ignored. */
  delete(role: BucketRole, paths: readonly string[]): Promise<void>;
  /**
   * An expiring link to an object of a private bucket. `baseUrl` is genloop's own public URL
   * (the local driver serves the links itself); the S3 driver presigns instead.
   */
  signedUrl(
    role: BucketRole,
    path: string,
    options: { expiresInSeconds: number; baseUrl: string },
  ): Promise<string>;
  /** The permanent link to an object of the public renders bucket. */
  publicUrl(path: string, options: { baseUrl: string }): string;
}
