import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobStore, BucketRole, StoredBlob } from './blob-store.ts';
import { BUCKET_ROLES } from './blob-store.ts';
import { isSafePath } from './paths.ts';
import { s3PublicUrl } from './s3-public-url.ts';

export interface S3StoreOptions {
  buckets: Readonly<Record<BucketRole, string>>;
  /** Endpoint of an S3-compatible service (MinIO, R2, Supabase Storage); AWS when absent. */
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  forcePathStyle: boolean;
  /** Base of public object links: `<publicUrl>/<bucket>/<key>`. */
  publicUrl?: string | undefined;
}

/**
 * The S3 driver (@aws-sdk/client-s3): objects are keys in the configured buckets, private links
 * are presigned GETs, and public links point at the renders bucket, which the operator makes
 * publicly readable (a bucket policy, or a public bucket in Supabase Storage).
 */
export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;
  readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.accessKeyId && options.secretAccessKey
        ? {
            credentials: {
              accessKeyId: options.accessKeyId,
              secretAccessKey: options.secretAccessKey,
            },
          }
        : {}),
    });
  }

  bucketName(role: BucketRole): string {
    return this.options.buckets[role];
  }

  async put(role: BucketRole, path: string, bytes: Uint8Array, contentType: string) {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucketName(role),
        Key: checked(path),
        Body: bytes,
        ContentType: contentType,
        CacheControl: role === 'renders' ? 'public, max-age=31536000, immutable' : 'private',
      }),
    );
  }

  async get(role: BucketRole, path: string): Promise<StoredBlob | undefined> {
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucketName(role), Key: checked(path) }),
      );
      const bytes = Buffer.from((await result.Body?.transformToByteArray()) ?? []);
      return { bytes, contentType: result.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(role: BucketRole, paths: readonly string[]): Promise<void> {
    // One DeleteObject per key: a render has at most eight objects, and every S3-compatible
    // service implements it (DeleteObjects needs Content-MD5 handling some do not).
    await Promise.all(
      paths.map((path) =>
        this.client.send(
          new DeleteObjectCommand({ Bucket: this.bucketName(role), Key: checked(path) }),
        ),
      ),
    );
  }

  signedUrl(
    role: BucketRole,
    path: string,
    options: { expiresInSeconds: number; baseUrl: string },
  ): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucketName(role), Key: checked(path) }),
      { expiresIn: options.expiresInSeconds },
    );
  }

  publicUrl(path: string, _options: { baseUrl: string }): string {
    return s3PublicUrl(this.options, this.bucketName('renders'), path);
  }

  /** Creates the configured buckets that do not exist yet (development and tests). */
  async createMissingBuckets(): Promise<void> {
    for (const role of BUCKET_ROLES) {
      const Bucket = this.bucketName(role);
      try {
        await this.client.send(new HeadBucketCommand({ Bucket }));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await this.client.send(new CreateBucketCommand({ Bucket }));
      }
    }
  }

  close(): void {
    this.client.destroy();
  }
}

function checked(path: string): string {
  if (!isSafePath(path)) throw new RangeError(`unsafe blob path: ${path}`);
  return path;
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' ||
      error.name === 'NotFound' ||
      error.name === 'NoSuchBucket' ||
      error.$metadata.httpStatusCode === 404)
  );
}
