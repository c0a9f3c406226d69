import * as check from './checks.ts';
import {
  boolean,
  bytes,
  decimal,
  httpUrl,
  integer,
  list,
  map,
  oneOf,
  rate,
  text,
} from './parsers.ts';
import { derived, setting } from './setting.ts';

const MiB = 1024 * 1024;

/**
 * Every setting genloop reads, once: its place in ResolvedConfig (its key path here),
 * its environment variable, its config-file key, how it is checked, its default and its line in
 * docs/configuration.md. Rules that combine settings run after this table, in resolve.ts.
 *
 * A new setting is one more row, in its ResolvedConfig group and in the order of its docs
 * section; a default that depends on other settings is `derived` and filled in by resolve.ts.
 * Then `npx tsx scripts/docs-config.ts` rewrites the docs tables.
 */
export const settings = {
  databaseUrl: setting({
    env: 'DATABASE_URL',
    file: 'databaseUrl',
    parse: text(check.postgresUrl, '`postgres://` URL'),
    defaultText: 'embedded PGlite',
    section: 'server',
    description: 'Postgres connection string; unset, genloop runs on embedded PGlite',
  }),
  databaseDirectUrl: setting({
    env: 'DATABASE_DIRECT_URL',
    file: 'databaseDirectUrl',
    parse: text(check.postgresUrl, '`postgres://` URL'),
    defaultText: '`DATABASE_URL`',
    section: 'server',
    description:
      'a direct (session) connection for LISTEN and migrations, when DATABASE_URL is a transaction-mode pooler',
  }),
  dataDir: setting({
    env: 'GENLOOP_DATA_DIR',
    file: 'dataDir',
    parse: text(),
    default: '.genloop',
    section: 'server',
    description:
      'embedded database folder, relative to the working folder (also the local storage and the embedded JWT secret)',
  }),
  databasePoolSize: setting({
    env: 'GENLOOP_DB_POOL_SIZE',
    file: 'databasePoolSize',
    parse: integer(1, 1000),
    default: 10,
    section: 'server',
    description: 'connections in the node-postgres pool',
  }),
  port: setting({
    env: 'PORT',
    file: 'port',
    parse: integer(0, 65535),
    default: 8787,
    section: 'server',
    description: 'port the server listens on',
  }),
  host: setting({
    env: 'GENLOOP_HOST',
    file: 'host',
    parse: text(),
    default: '0.0.0.0',
    section: 'server',
    description: 'interface the server binds',
  }),
  publicBaseUrl: setting({
    env: 'GENLOOP_PUBLIC_URL',
    file: 'publicBaseUrl',
    parse: httpUrl,
    defaultText: 'embedded: the request origin; else `http://localhost:<PORT>`',
    section: 'server',
    description:
      'where clients and providers reach genloop (stored links, webhooks); must be public when Replicate is served by its real API',
  }),
  environment: setting({
    env: 'GENLOOP_ENV',
    file: 'environment',
    parse: text(check.environmentName, 'lower-case letters, digits, `_`, `-`; up to 32'),
    default: 'prod',
    section: 'server',
    description: 'which `ai_provider_configs` rows route requests',
  }),
  bodyLimitBytes: setting({
    env: 'GENLOOP_BODY_LIMIT_BYTES',
    file: 'bodyLimitBytes',
    parse: bytes(1024, 512 * MiB),
    default: MiB,
    section: 'server',
    description: 'largest request body that is neither JSON nor a photo upload',
  }),
  jsonLimitBytes: setting({
    env: 'GENLOOP_JSON_LIMIT_BYTES',
    file: 'jsonLimitBytes',
    // A JSON body is held in memory whole and parsed there, at several times its size.
    parse: bytes(1024, 64 * MiB),
    default: MiB,
    section: 'server',
    description: 'largest JSON body, on every route (the upload route too)',
  }),
  logLevel: setting({
    env: 'GENLOOP_LOG_LEVEL',
    file: 'logLevel',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: derived,
    defaultText: '`info` (`silent` under tests)',
    section: 'server',
    description: 'pino log level',
  }),
  responseCacheTtlMs: setting({
    env: 'GENLOOP_CACHE_TTL_SECONDS',
    parse: map(integer(0, 7 * 86_400), (seconds) => seconds * 1000),
    default: 0,
    section: 'server',
    description:
      "seconds a cached answer lives: generate-site caches identical briefs only when this is above 0; the gateway's opt-in cache (`x-genloop-cache`) keeps answers this long, or 3600 when it is 0",
  }),
  responseCacheDefault: setting({
    env: 'GENLOOP_CACHE_DEFAULT',
    file: 'cacheDefault',
    parse: oneOf(['off', 'exact', 'semantic']),
    default: 'off',
    section: 'server',
    description:
      'cache mode of `/v1/chat/completions` requests that send no `x-genloop-cache` header (`semantic` acts as `exact` on a Postgres without pgvector)',
  }),
  consoleSearchRows: setting({
    env: 'GENLOOP_CONSOLE_SEARCH_ROWS',
    parse: integer(1, 1_000_000_000),
    default: 60_000,
    section: 'server',
    description:
      "telemetry rows one request of the console's generations list reads at most; filters rare together then answer with the matches so far and a cursor that goes on",
  }),
  responseCacheScope: setting({
    env: 'GENLOOP_CACHE_SCOPE',
    file: 'cacheScope',
    parse: oneOf(['user', 'global']),
    default: 'user',
    section: 'server',
    description:
      "who shares the gateway's cached answers: each user their own, or every caller (API keys and users alike)",
  }),
  semanticCacheDistance: setting({
    env: 'GENLOOP_CACHE_SEMANTIC_DISTANCE',
    file: 'cacheSemanticDistance',
    parse: decimal(0, 2),
    default: 0.1,
    section: 'server',
    description:
      'largest cosine distance between the last user messages of two requests for the semantic cache to answer one with the other (0 = the same meaning only; 2 = anything)',
  }),
  embeddingModel: setting({
    env: 'GENLOOP_EMBEDDING_MODEL',
    file: 'embeddingModel',
    parse: text(),
    default: 'text-embedding-3-small',
    section: 'server',
    description:
      'embedding model of the semantic cache and of `/v1/embeddings` with model `default`, unless a provider config names its own (`metadata.embedding_model`)',
  }),

  auth: {
    jwtSecret: setting({
      env: 'GENLOOP_JWT_SECRET',
      file: 'jwtSecret',
      parse: text(check.jwtSecret, '32+ characters'),
      defaultText: 'embedded: made once and kept in the data folder',
      section: 'auth',
      description: 'HS256 secret (the Supabase JWT secret)',
    }),
    jwksUrl: setting({
      env: 'GENLOOP_JWKS_URL',
      file: 'jwksUrl',
      parse: httpUrl,
      section: 'auth',
      description: 'verify RS256/ES256 tokens against this JWKS instead',
    }),
    audience: setting({
      env: 'GENLOOP_JWT_AUDIENCE',
      file: 'jwtAudience',
      parse: text(),
      default: 'authenticated',
      section: 'auth',
      description: 'expected `aud` claim',
    }),
    issuer: setting({
      env: 'GENLOOP_JWT_ISSUER',
      file: 'jwtIssuer',
      parse: text(check.issuer, 'printable, no spaces'),
      defaultText: 'not checked',
      section: 'auth',
      description: 'expected `iss` claim (Supabase: `https://<project>.supabase.co/auth/v1`)',
    }),
  },
  apiKeys: setting({
    env: 'GENLOOP_API_KEYS',
    parse: list(check.apiKey, { accepts: 'comma-separated, 24+ characters each' }),
    default: [],
    section: 'auth',
    description:
      'keys accepted besides JWTs: by the `/v1` gateway, and as the service role by `/api/v1/admin` and the console',
  }),

  corsOrigins: setting({
    env: 'GENLOOP_CORS_ORIGINS',
    file: 'corsOrigins',
    // Kept as browsers send them in `Origin`: lower-case host, no default port, once each.
    parse: list(check.corsOrigin, {
      accepts: 'comma-separated `scheme://host[:port]`',
      normalise: (origin) => new URL(origin).origin,
      unique: true,
    }),
    default: [],
    defaultText: 'none: no CORS',
    section: 'browsers',
    description:
      'exact origins (`https://app.example.com,http://localhost:3000`) browsers may call from',
  }),
  metricsToken: setting({
    env: 'GENLOOP_METRICS_TOKEN',
    parse: text(check.metricsToken, '24+ printable characters'),
    defaultText: '`/metrics` open',
    section: 'browsers',
    description: "bearer token `GET /metrics` requires; put it in Prometheus' `authorization`",
  }),

  providers: {
    openaiApiKey: setting({
      env: 'OPENAI_API_KEY',
      parse: text(),
      section: 'providers',
      description: 'API key of the `openai` provider',
    }),
    openaiBaseUrl: setting({
      env: 'OPENAI_BASE_URL',
      parse: text(),
      defaultText: 'the OpenAI API',
      section: 'providers',
      description: 'where the `openai` provider sends its requests',
    }),
    openrouterApiKey: setting({
      env: 'OPENROUTER_API_KEY',
      parse: text(),
      section: 'providers',
      description: 'API key of the `openrouter` provider',
    }),
    customProviderBaseUrl: setting({
      env: 'CUSTOM_PROVIDER_BASE_URL',
      parse: httpUrl,
      section: 'providers',
      description: 'the `custom` provider: any OpenAI-compatible server (vLLM, Ollama, llama.cpp)',
    }),
    customProviderApiKey: setting({
      env: 'CUSTOM_PROVIDER_API_KEY',
      parse: text(),
      section: 'providers',
      description: 'API key of the `custom` provider',
    }),
    replicateApiToken: setting({
      env: 'REPLICATE_API_TOKEN',
      parse: text(),
      section: 'providers',
      description: 'API token of the `replicate` provider',
    }),
    replicateWebhookSecret: setting({
      env: 'REPLICATE_WEBHOOK_SECRET',
      parse: text(check.webhookSecret, '`whsec_<base64>`'),
      section: 'providers',
      description: "Standard Webhooks secret that signs Replicate's webhooks",
    }),
    replicateWebhookUrl: setting({
      env: 'REPLICATE_WEBHOOK_URL',
      parse: httpUrl,
      defaultText: '`GENLOOP_PUBLIC_URL` + `/api/v1/webhooks/replicate`, else the request origin',
      section: 'providers',
      description: 'where Replicate posts webhooks',
    }),
  },
  simulator: setting({
    env: 'GENLOOP_SIMULATOR',
    file: 'simulator',
    parse: oneOf(['auto', 'on', 'off']),
    default: 'auto',
    section: 'providers',
    description:
      '`auto`: the built-in simulator serves keyless providers in embedded mode only; `on`: also with a real database; `off`: never',
  }),
  cost: {
    pricesFile: setting({
      env: 'GENLOOP_PRICES_FILE',
      file: 'pricesFile',
      parse: text(),
      defaultText: 'the built-in price table',
      section: 'providers',
      description:
        'JSON file of model prices that beat the built-in table: `{"<model>": {"input": 0.15, "output": 0.6}}` in USD per million tokens',
    }),
    budgetMaxOutputTokens: setting({
      env: 'GENLOOP_BUDGET_MAX_OUTPUT_TOKENS',
      parse: integer(1, 1_000_000),
      default: 1024,
      section: 'jobs',
      description:
        'output tokens reserved against a budget for a call that sets no `max_tokens` (the call is capped at it)',
    }),
  },

  jobs: {
    concurrency: setting({
      env: 'GENLOOP_WORKER_CONCURRENCY',
      parse: integer(1, 1024),
      default: 16,
      section: 'jobs',
      description: 'jobs one worker process runs at once',
    }),
    leaseMs: setting({
      env: 'GENLOOP_JOB_LEASE_MS',
      parse: integer(100, 3_600_000),
      default: 30_000,
      section: 'jobs',
      description: 'lease of a claimed job (renewed by heartbeat)',
    }),
    pollMs: setting({
      env: 'GENLOOP_JOB_POLL_MS',
      parse: integer(10, 60_000),
      default: 1_000,
      section: 'jobs',
      description: 'fallback poll when no NOTIFY arrives',
    }),
    maxAttempts: setting({
      env: 'GENLOOP_JOB_MAX_ATTEMPTS',
      parse: integer(1, 100),
      default: 3,
      section: 'jobs',
      description: 'claims before an abandoned job is failed',
    }),
    runningTimeoutMs: setting({
      env: 'GENLOOP_JOB_TIMEOUT_MS',
      parse: integer(1_000, 86_400_000),
      default: 600_000,
      section: 'jobs',
      description: 'a job running longer is marked timed out',
    }),
  },
  limits: {
    flashcardsRate: setting({
      env: 'GENLOOP_RATE_LIMIT_FLASHCARDS',
      parse: rate,
      default: '5/5m',
      section: 'jobs',
      description: 'flashcard submissions per user per window (`5/5m`, `20/1h`)',
    }),
    monthlyQuota: setting({
      env: 'GENLOOP_MONTHLY_QUOTA',
      parse: integer(0, 10_000_000),
      default: 100,
      section: 'jobs',
      description: 'generations per user per calendar month',
    }),
  },

  storage: {
    driver: setting({
      env: 'GENLOOP_STORAGE_DRIVER',
      file: 'storageDriver',
      parse: oneOf(['local', 's3']),
      default: 'local',
      section: 'storage',
      description: 'where uploads and renders are kept',
    }),
    localDir: setting({
      env: 'GENLOOP_STORAGE_DIR',
      file: 'storageDir',
      parse: text(),
      default: derived,
      defaultText: '`<data dir>/storage`',
      section: 'storage',
      description: "the local driver's folder",
    }),
    signingKey: setting({
      env: 'GENLOOP_STORAGE_SIGNING_KEY',
      parse: text(check.signingKey, '32+ characters'),
      default: derived,
      defaultText: 'derived from the JWT secret',
      section: 'storage',
      description: "HMAC key of the local driver's signed links",
    }),
    buckets: {
      uploads: setting({
        env: 'GENLOOP_UPLOADS_BUCKET',
        parse: text(check.bucketName, 'bucket name'),
        default: 'uploads',
        section: 'storage',
        description: 'bucket of the private uploads',
      }),
      renders: setting({
        env: 'GENLOOP_RENDERS_BUCKET',
        parse: text(check.bucketName, 'bucket name'),
        default: 'renders',
        section: 'storage',
        description: 'bucket of the public renders',
      }),
    },
    s3: {
      endpoint: setting({
        env: 'GENLOOP_S3_ENDPOINT',
        parse: httpUrl,
        defaultText: 'AWS',
        section: 'storage',
        description: 'S3-compatible endpoint (Supabase Storage, R2, MinIO)',
      }),
      region: setting({
        env: ['GENLOOP_S3_REGION', 'AWS_REGION'],
        parse: text(),
        default: 'us-east-1',
        section: 'storage',
        description: 'S3 region',
      }),
      accessKeyId: setting({
        env: ['GENLOOP_S3_ACCESS_KEY_ID', 'AWS_ACCESS_KEY_ID'],
        parse: text(),
        defaultText: 'the AWS default chain',
        section: 'storage',
        description: 'S3 access key id, set together with the secret access key',
      }),
      secretAccessKey: setting({
        env: ['GENLOOP_S3_SECRET_ACCESS_KEY', 'AWS_SECRET_ACCESS_KEY'],
        parse: text(),
        defaultText: 'the AWS default chain',
        section: 'storage',
        description: 'S3 secret access key',
      }),
      forcePathStyle: setting({
        env: 'GENLOOP_S3_FORCE_PATH_STYLE',
        parse: boolean,
        default: derived,
        defaultText: '`true` with `GENLOOP_S3_ENDPOINT`',
        section: 'storage',
        description: 'address buckets as `<endpoint>/<bucket>` rather than as subdomains',
      }),
      publicUrl: setting({
        env: 'GENLOOP_S3_PUBLIC_URL',
        parse: httpUrl,
        section: 'storage',
        description: 'base of public object links (`<base>/<bucket>/<key>`)',
      }),
    },
  },
  interior: {
    uploadMaxBytes: setting({
      env: 'GENLOOP_UPLOAD_MAX_BYTES',
      parse: bytes(1024, 100 * MiB),
      default: 10 * MiB,
      section: 'storage',
      description: 'largest uploaded image',
    }),
    maxInputPixels: setting({
      env: 'GENLOOP_MAX_INPUT_PIXELS',
      parse: integer(1_000_000, 268_402_689),
      default: 40_000_000,
      section: 'storage',
      description: 'larger images are refused before decoding (decompression bombs)',
    }),
    assetHosts: setting({
      env: 'GENLOOP_ASSET_HOSTS',
      file: 'assetHosts',
      parse: list(check.assetHost, {
        accepts: 'comma-separated host names',
        lowerCase: true,
      }),
      default: ['replicate.delivery', '*.replicate.delivery'],
      section: 'storage',
      description: 'hosts provider outputs may be downloaded from (`*.` allows subdomains)',
    }),
    assetMaxBytes: setting({
      env: 'GENLOOP_ASSET_MAX_BYTES',
      parse: bytes(1024, 512 * MiB),
      default: 25 * MiB,
      section: 'storage',
      description: 'largest provider output genloop downloads',
    }),
  },
};
