import { z } from 'zod';

/** The keys a genloop config file (`genloop.config.json`) may hold; env and flags use the same. */
export const fileConfigSchema = z
  .object({
    databaseUrl: z.string(),
    dataDir: z.string(),
    host: z.string(),
    port: z.number(),
    environment: z.string(),
    jwtSecret: z.string(),
    jwksUrl: z.string(),
    jwtAudience: z.string(),
    jwtIssuer: z.string(),
    simulator: z.enum(['auto', 'on', 'off']),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    bodyLimitBytes: z.number(),
    jsonLimitBytes: z.number(),
    corsOrigins: z.array(z.string()),
    databasePoolSize: z.number(),
    publicBaseUrl: z.string(),
    // Interior images: where blobs live and which hosts provider assets may come from.
    storageDriver: z.enum(['local', 's3']),
    storageDir: z.string(),
    assetHosts: z.array(z.string()),
  })
  .partial()
  .strict();

export type FileConfig = z.infer<typeof fileConfigSchema>;

/** Provider credentials and endpoints, read from the environment only (never from files). */
export interface ProviderSettings {
  readonly openaiApiKey: string | undefined;
  readonly openaiBaseUrl: string | undefined;
  readonly openrouterApiKey: string | undefined;
  readonly replicateApiToken: string | undefined;
  readonly replicateWebhookSecret: string | undefined;
  /** Where Replicate posts webhooks (REPLICATE_WEBHOOK_URL); else `${publicBaseUrl}/api/v1/webhooks/replicate`, else the request origin. */
  readonly replicateWebhookUrl: string | undefined;
  readonly customProviderBaseUrl: string | undefined;
  readonly customProviderApiKey: string | undefined;
}

/** Everything genloop needs to run, resolved once at start and passed down frozen. */
export interface ResolvedConfig {
  /** `embedded` runs on PGlite in `dataDir`; `postgres` on the server at `databaseUrl`. */
  readonly mode: 'embedded' | 'postgres';
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly environment: string;
  readonly auth: {
    readonly jwtSecret: string | undefined;
    readonly jwksUrl: string | undefined;
    readonly audience: string;
    /** GENLOOP_JWT_ISSUER: when set, tokens must carry exactly this `iss`. */
    readonly issuer: string | undefined;
  };
  readonly simulator: 'auto' | 'on' | 'off';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** GENLOOP_BODY_LIMIT_BYTES: the largest body that is neither JSON nor a photo upload. */
  readonly bodyLimitBytes: number;
  /** GENLOOP_JSON_LIMIT_BYTES: the largest JSON body, on every route (uploads included). */
  readonly jsonLimitBytes: number;
  /** GENLOOP_CORS_ORIGINS: browser origins allowed to call the API with credentials (none: no CORS). */
  readonly corsOrigins: readonly string[];
  /** GENLOOP_METRICS_TOKEN: bearer token GET /metrics requires (unset: /metrics is open). */
  readonly metricsToken: string | undefined;
  readonly databasePoolSize: number;
  /**
   * GENLOOP_PUBLIC_URL: where clients and providers reach genloop (stored links, webhooks).
   * Unset: `http://localhost:<port>` with a database URL; in embedded mode the request origin.
   */
  readonly publicBaseUrl: string | undefined;
  readonly providers: ProviderSettings;
  readonly jobs: {
    /** Jobs one worker process runs at once (GENLOOP_WORKER_CONCURRENCY). */
    readonly concurrency: number;
    readonly leaseMs: number;
    /** Fallback poll interval; NOTIFY wakes workers sooner. */
    readonly pollMs: number;
    readonly maxAttempts: number;
    /** Running longer than this ends as timed_out (seed 003: 10 minutes). */
    readonly runningTimeoutMs: number;
  };
  readonly limits: {
    /** Flashcard submissions per user (GENLOOP_RATE_LIMIT_FLASHCARDS, `5/5m`). */
    readonly flashcardsRate: { readonly limit: number; readonly windowMs: number };
    /** Generations per user per calendar month (GENLOOP_MONTHLY_QUOTA). */
    readonly monthlyQuota: number;
  };
  /** Blob storage for uploads and renders. */
  readonly storage: StorageSettings;
  /** The interior-design flow of seed 003. */
  readonly interior: InteriorSettings;
  /** Identical generate-site briefs within this many ms are served from the cache (0: off). */
  readonly responseCacheTtlMs: number;
  /** Keys accepted by the OpenAI-compatible gateway besides JWTs (GENLOOP_API_KEYS, comma-separated). */
  readonly apiKeys: readonly string[];
}

/** Blob storage: the local folder (default) or an S3-compatible service. */
export interface StorageSettings {
  /** GENLOOP_STORAGE_DRIVER: `local` (default) or `s3`. */
  readonly driver: 'local' | 's3';
  /** GENLOOP_STORAGE_DIR: the local driver's folder (default `<dataDir>/storage`). */
  readonly localDir: string;
  /** HMAC key of the local driver's signed links (GENLOOP_STORAGE_SIGNING_KEY, else derived from the JWT secret). */
  readonly signingKey: string;
  /** Bucket names: private uploads (GENLOOP_UPLOADS_BUCKET) and public renders (GENLOOP_RENDERS_BUCKET). */
  readonly buckets: { readonly uploads: string; readonly renders: string };
  readonly s3: {
    /** GENLOOP_S3_ENDPOINT (MinIO, R2, Supabase Storage); AWS when absent. */
    readonly endpoint: string | undefined;
    readonly region: string;
    readonly accessKeyId: string | undefined;
    readonly secretAccessKey: string | undefined;
    readonly forcePathStyle: boolean;
    /** GENLOOP_S3_PUBLIC_URL: base of public object links (`<base>/<bucket>/<key>`). */
    readonly publicUrl: string | undefined;
  };
}

/** Limits of the interior flow's inputs and of the assets genloop downloads from providers. */
export interface InteriorSettings {
  /** GENLOOP_UPLOAD_MAX_BYTES: the largest image one upload may be (default 10 MiB). */
  readonly uploadMaxBytes: number;
  /** GENLOOP_MAX_INPUT_PIXELS: larger images are refused before decoding (decompression bombs). */
  readonly maxInputPixels: number;
  /** GENLOOP_ASSET_HOSTS: hosts provider outputs may be downloaded from (`*.` allows subdomains). */
  readonly assetHosts: readonly string[];
  /** GENLOOP_ASSET_MAX_BYTES: the largest provider output genloop downloads (default 25 MiB). */
  readonly assetMaxBytes: number;
}
