import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobStore, BucketRole, StoredBlob } from './blob-store.ts';
import { contentTypeOf } from './content-types.ts';
import { isSafePath } from './paths.ts';
import { signLink } from './signed-link.ts';

export interface LocalStoreOptions {
  /** The folder that holds one sub-folder per bucket. */
  dir: string;
  buckets: Readonly<Record<BucketRole, string>>;
  /** HMAC key of the signed links. */
  signingKey: string;
}

/**
 * The default driver: objects are files under `<dir>/<bucket>/<path>`. genloop itself serves
 * them at `/files/<bucket>/<path>` — the public renders bucket to anyone, the private uploads
 * bucket only with an unexpired HMAC signature. Writes go through a temporary file and a rename,
 * so a reader never sees half an image.
 */
export class LocalBlobStore implements BlobStore {
  readonly driver = 'local' as const;
  constructor(private readonly options: LocalStoreOptions) {}

  bucketName(role: BucketRole): string {
    return this.options.buckets[role];
  }

  /** The role whose bucket has this name (the file route maps names back). */
  roleOf(bucket: string): BucketRole | undefined {
    if (bucket === this.options.buckets.uploads) return 'uploads';
    if (bucket === this.options.buckets.renders) return 'renders';
    return undefined;
  }

  get signingKey(): string {
    return this.options.signingKey;
  }

  async put(role: BucketRole, path: string, bytes: Uint8Array, _contentType: string) {
    const file = this.fileOf(role, path);
    await mkdir(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  }

  async get(role: BucketRole, path: string): Promise<StoredBlob | undefined> {
    try {
      return { bytes: await readFile(this.fileOf(role, path)), contentType: contentTypeOf(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(role: BucketRole, paths: readonly string[]): Promise<void> {
    await Promise.all(paths.map((path) => rm(this.fileOf(role, path), { force: true })));
  }

  async signedUrl(
    role: BucketRole,
    path: string,
    options: { expiresInSeconds: number; baseUrl: string },
  ): Promise<string> {
    this.fileOf(role, path);
    const bucket = this.bucketName(role);
    const expires = Math.floor(Date.now() / 1000) + options.expiresInSeconds;
    const signature = signLink(this.options.signingKey, bucket, path, expires);
    return `${linkBase(options.baseUrl, bucket, path)}?expires=${expires}&signature=${signature}`;
  }

  publicUrl(path: string, options: { baseUrl: string }): string {
    this.fileOf('renders', path);
    return linkBase(options.baseUrl, this.bucketName('renders'), path);
  }

  private fileOf(role: BucketRole, path: string): string {
    if (!isSafePath(path)) throw new RangeError(`unsafe blob path: ${path}`);
    return join(this.options.dir, this.bucketName(role), ...path.split('/'));
  }
}

function linkBase(baseUrl: string, bucket: string, path: string): string {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl.replace(/\/+$/, '')}/files/${encodeURIComponent(bucket)}/${encoded}`;
}
