import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, toError } from '../lib/errors.ts';
import {
  type FileConfig,
  fileConfigSchema,
  type InteriorSettings,
  type ResolvedConfig,
  type StorageSettings,
} from './schema.ts';

/** Values given on the command line; they win over everything else. */
export type ConfigFlags = FileConfig & { config?: string };

export interface ResolveOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_FILE = 'genloop.config.json';
const EMBEDDED_SECRET_FILE = 'jwt-secret';
const STORAGE_KEY_FILE = 'storage-signing-key';

/**
 * Resolves genloop's configuration once: flags > environment > config file > defaults.
 * Throws a {@link ConfigError} whose one-line message names the setting and the fix.
 *
 * @example
 * const config = resolveConfig({ env: process.env, flags: { port: 9000 } });
 */
export function resolveConfig(options: ResolveOptions = {}): ResolvedConfig {
  const env = options.env ?? {};
  const flags = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();
  const file = readConfigFile(flags.config ?? env.GENLOOP_CONFIG, cwd);

  const pick = <K extends keyof FileConfig>(key: K, envValue: FileConfig[K] | undefined) =>
    flags[key] ?? envValue ?? file[key];

  const databaseUrl = emptyToUndefined(pick('databaseUrl', emptyToUndefined(env.DATABASE_URL)));
  if (databaseUrl !== undefined) assertDatabaseUrl(databaseUrl);
  const mode = databaseUrl === undefined ? 'embedded' : 'postgres';

  const dataDir = resolve(
    cwd,
    pick('dataDir', emptyToUndefined(env.GENLOOP_DATA_DIR)) ?? '.genloop',
  );
  const port = integerSetting(
    'PORT',
    pick('port', parseIntegerEnv('PORT', env.PORT)) ?? 8787,
    0,
    65535,
  );
  const environment = pick('environment', emptyToUndefined(env.GENLOOP_ENV)) ?? 'prod';
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(environment)) {
    throw new ConfigError(
      `GENLOOP_ENV="${environment}" is not an environment name; use lower-case letters, digits, _ or - (for example prod or staging).`,
    );
  }
  const simulator = enumSetting(
    'GENLOOP_SIMULATOR',
    pick('simulator', emptyToUndefined(env.GENLOOP_SIMULATOR) as FileConfig['simulator']) ?? 'auto',
    ['auto', 'on', 'off'] as const,
  );
  const logLevel = enumSetting(
    'GENLOOP_LOG_LEVEL',
    pick('logLevel', emptyToUndefined(env.GENLOOP_LOG_LEVEL) as FileConfig['logLevel']) ??
      (env.NODE_ENV === 'test' || env.VITEST ? 'silent' : 'info'),
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
  );
  const bodyLimitBytes = integerSetting(
    'GENLOOP_BODY_LIMIT_BYTES',
    pick(
      'bodyLimitBytes',
      parseIntegerEnv('GENLOOP_BODY_LIMIT_BYTES', env.GENLOOP_BODY_LIMIT_BYTES),
    ) ?? 1024 * 1024,
    1024,
    512 * 1024 * 1024,
  );
  const jsonLimitBytes = integerSetting(
    'GENLOOP_JSON_LIMIT_BYTES',
    pick(
      'jsonLimitBytes',
      parseIntegerEnv('GENLOOP_JSON_LIMIT_BYTES', env.GENLOOP_JSON_LIMIT_BYTES),
    ) ?? 1024 * 1024,
    1024,
    // A JSON body is held in memory whole and parsed there, at several times its size.
    64 * 1024 * 1024,
  );
  const corsOrigins = resolveCorsOrigins(
    pick('corsOrigins', emptyToUndefined(env.GENLOOP_CORS_ORIGINS)?.split(',')) ?? [],
  );
  const metricsToken = emptyToUndefined(env.GENLOOP_METRICS_TOKEN);
  if (metricsToken !== undefined) assertMetricsToken(metricsToken);
  const databasePoolSize = integerSetting(
    'GENLOOP_DB_POOL_SIZE',
    pick('databasePoolSize', parseIntegerEnv('GENLOOP_DB_POOL_SIZE', env.GENLOOP_DB_POOL_SIZE)) ??
      10,
    1,
    1000,
  );
  const configuredPublicUrl = pick('publicBaseUrl', emptyToUndefined(env.GENLOOP_PUBLIC_URL));
  if (configuredPublicUrl !== undefined) assertHttpUrl('GENLOOP_PUBLIC_URL', configuredPublicUrl);
  // Links and webhook addresses are stored with jobs, so outside embedded mode they never come
  // from a request's Host header: without the setting they name this machine's own port.
  const publicBaseUrl =
    configuredPublicUrl ?? (mode === 'postgres' ? `http://localhost:${port}` : undefined);

  const customProviderBaseUrl = emptyToUndefined(env.CUSTOM_PROVIDER_BASE_URL);
  if (customProviderBaseUrl !== undefined)
    assertHttpUrl('CUSTOM_PROVIDER_BASE_URL', customProviderBaseUrl);

  const jwksUrl = pick('jwksUrl', emptyToUndefined(env.GENLOOP_JWKS_URL));
  if (jwksUrl !== undefined) assertHttpUrl('GENLOOP_JWKS_URL', jwksUrl);
  let jwtSecret = pick('jwtSecret', emptyToUndefined(env.GENLOOP_JWT_SECRET));
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError(
      `GENLOOP_JWT_SECRET is ${jwtSecret.length} characters long; use the Supabase JWT secret or another secret of at least 32 characters.`,
    );
  }
  const issuer = pick('jwtIssuer', emptyToUndefined(env.GENLOOP_JWT_ISSUER));
  if (issuer !== undefined) assertIssuer(issuer);
  if (jwtSecret === undefined && jwksUrl === undefined && mode === 'embedded') {
    jwtSecret = embeddedSecret(dataDir);
  }

  const apiKeys = (emptyToUndefined(env.GENLOOP_API_KEYS) ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  for (const key of apiKeys) {
    if (key.length < 24) {
      throw new ConfigError(
        'GENLOOP_API_KEYS holds a key shorter than 24 characters; use long random keys (openssl rand -hex 24).',
      );
    }
  }

  const jobs = {
    concurrency: integerSetting(
      'GENLOOP_WORKER_CONCURRENCY',
      parseIntegerEnv('GENLOOP_WORKER_CONCURRENCY', env.GENLOOP_WORKER_CONCURRENCY) ?? 16,
      1,
      1024,
    ),
    leaseMs: integerSetting(
      'GENLOOP_JOB_LEASE_MS',
      parseIntegerEnv('GENLOOP_JOB_LEASE_MS', env.GENLOOP_JOB_LEASE_MS) ?? 30_000,
      100,
      3_600_000,
    ),
    pollMs: integerSetting(
      'GENLOOP_JOB_POLL_MS',
      parseIntegerEnv('GENLOOP_JOB_POLL_MS', env.GENLOOP_JOB_POLL_MS) ?? 1_000,
      10,
      60_000,
    ),
    maxAttempts: integerSetting(
      'GENLOOP_JOB_MAX_ATTEMPTS',
      parseIntegerEnv('GENLOOP_JOB_MAX_ATTEMPTS', env.GENLOOP_JOB_MAX_ATTEMPTS) ?? 3,
      1,
      100,
    ),
    runningTimeoutMs: integerSetting(
      'GENLOOP_JOB_TIMEOUT_MS',
      parseIntegerEnv('GENLOOP_JOB_TIMEOUT_MS', env.GENLOOP_JOB_TIMEOUT_MS) ?? 600_000,
      1_000,
      86_400_000,
    ),
  };
  const limits = {
    flashcardsRate: parseRate(
      'GENLOOP_RATE_LIMIT_FLASHCARDS',
      emptyToUndefined(env.GENLOOP_RATE_LIMIT_FLASHCARDS) ?? '5/5m',
    ),
    monthlyQuota: integerSetting(
      'GENLOOP_MONTHLY_QUOTA',
      parseIntegerEnv('GENLOOP_MONTHLY_QUOTA', env.GENLOOP_MONTHLY_QUOTA) ?? 100,
      0,
      10_000_000,
    ),
  };

  const replicateWebhookSecret = emptyToUndefined(env.REPLICATE_WEBHOOK_SECRET);
  if (replicateWebhookSecret !== undefined) assertWebhookSecret(replicateWebhookSecret);
  const replicateWebhookUrl = emptyToUndefined(env.REPLICATE_WEBHOOK_URL);
  if (replicateWebhookUrl !== undefined)
    assertHttpUrl('REPLICATE_WEBHOOK_URL', replicateWebhookUrl);

  const config: ResolvedConfig = {
    mode,
    databaseUrl,
    dataDir,
    host: pick('host', emptyToUndefined(env.GENLOOP_HOST)) ?? '0.0.0.0',
    port,
    environment,
    auth: {
      jwtSecret,
      jwksUrl,
      audience: pick('jwtAudience', emptyToUndefined(env.GENLOOP_JWT_AUDIENCE)) ?? 'authenticated',
      issuer,
    },
    simulator,
    logLevel,
    bodyLimitBytes,
    jsonLimitBytes,
    corsOrigins,
    metricsToken,
    databasePoolSize,
    publicBaseUrl,
    apiKeys,
    responseCacheTtlMs:
      integerSetting(
        'GENLOOP_CACHE_TTL_SECONDS',
        parseIntegerEnv('GENLOOP_CACHE_TTL_SECONDS', env.GENLOOP_CACHE_TTL_SECONDS) ?? 0,
        0,
        7 * 86_400,
      ) * 1000,
    jobs,
    limits,
    storage: resolveStorage(env, pick, dataDir, cwd, jwtSecret),
    interior: resolveInterior(env, file),
    providers: {
      openaiApiKey: emptyToUndefined(env.OPENAI_API_KEY),
      openaiBaseUrl: emptyToUndefined(env.OPENAI_BASE_URL),
      openrouterApiKey: emptyToUndefined(env.OPENROUTER_API_KEY),
      replicateApiToken: emptyToUndefined(env.REPLICATE_API_TOKEN),
      replicateWebhookSecret,
      replicateWebhookUrl,
      customProviderBaseUrl,
      customProviderApiKey: emptyToUndefined(env.CUSTOM_PROVIDER_API_KEY),
    },
  };
  return deepFreeze(config);
}

/**
 * Throws unless requests can be authenticated: outside embedded mode genloop has no secret of
 * its own and must be given the Supabase JWT secret or a JWKS URL.
 */
export function assertAuthConfigured(config: ResolvedConfig): void {
  if (config.auth.jwtSecret === undefined && config.auth.jwksUrl === undefined) {
    throw new ConfigError(
      'GENLOOP_JWT_SECRET is not set: with DATABASE_URL genloop needs the Supabase JWT secret (GENLOOP_JWT_SECRET) or a JWKS URL (GENLOOP_JWKS_URL) to verify tokens.',
    );
  }
}

/**
 * Throws when Replicate is served by its real API but could not reach genloop: it must fetch the
 * input photos from genloop's signed links and post its webhooks to genloop, and a localhost
 * address (the default outside embedded mode) is reachable from nowhere else.
 */
export function assertPublicUrlReachable(
  config: ResolvedConfig,
  replicateServedBy: 'api' | 'simulator' | 'disabled',
): void {
  if (replicateServedBy !== 'api' || config.publicBaseUrl === undefined) return;
  if (config.providers.replicateWebhookUrl !== undefined && config.storage.driver === 's3') return;
  const { hostname } = new URL(config.publicBaseUrl);
  if (hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]') {
    throw new ConfigError(
      `GENLOOP_PUBLIC_URL is ${config.publicBaseUrl}: Replicate fetches input photos and posts webhooks there, so set it to the public address of genloop (https://genloop.example.com).`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Storage and the interior flow.
// ---------------------------------------------------------------------------------------------

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const HOST_PATTERN =
  /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function resolveStorage(
  env: NodeJS.ProcessEnv,
  pick: <K extends keyof FileConfig>(key: K, envValue: FileConfig[K] | undefined) => FileConfig[K],
  dataDir: string,
  cwd: string,
  jwtSecret: string | undefined,
): StorageSettings {
  const driver = enumSetting(
    'GENLOOP_STORAGE_DRIVER',
    pick(
      'storageDriver',
      emptyToUndefined(env.GENLOOP_STORAGE_DRIVER) as FileConfig['storageDriver'],
    ) ?? 'local',
    ['local', 's3'] as const,
  );
  const localDir = resolve(
    cwd,
    pick('storageDir', emptyToUndefined(env.GENLOOP_STORAGE_DIR)) ?? join(dataDir, 'storage'),
  );
  const buckets = {
    uploads: bucketSetting('GENLOOP_UPLOADS_BUCKET', env.GENLOOP_UPLOADS_BUCKET, 'uploads'),
    renders: bucketSetting('GENLOOP_RENDERS_BUCKET', env.GENLOOP_RENDERS_BUCKET, 'renders'),
  };
  if (buckets.uploads === buckets.renders) {
    throw new ConfigError(
      `GENLOOP_UPLOADS_BUCKET and GENLOOP_RENDERS_BUCKET are both "${buckets.uploads}"; uploads are private and renders public, so give them different buckets.`,
    );
  }
  let signingKey = emptyToUndefined(env.GENLOOP_STORAGE_SIGNING_KEY);
  if (signingKey !== undefined && signingKey.length < 32) {
    throw new ConfigError(
      `GENLOOP_STORAGE_SIGNING_KEY is ${signingKey.length} characters long; use at least 32 random characters (openssl rand -hex 32).`,
    );
  }
  // Replicas sharing the JWT secret also share the link key, without another setting.
  signingKey ??=
    jwtSecret === undefined
      ? persistedKey(dataDir, STORAGE_KEY_FILE)
      : createHmac('sha256', jwtSecret).update('genloop storage links v1').digest('base64url');

  const endpoint = emptyToUndefined(env.GENLOOP_S3_ENDPOINT);
  if (endpoint !== undefined) assertHttpUrl('GENLOOP_S3_ENDPOINT', endpoint);
  const publicUrl = emptyToUndefined(env.GENLOOP_S3_PUBLIC_URL);
  if (publicUrl !== undefined) assertHttpUrl('GENLOOP_S3_PUBLIC_URL', publicUrl);
  const pathStyle = emptyToUndefined(env.GENLOOP_S3_FORCE_PATH_STYLE);
  if (pathStyle !== undefined && !['true', 'false'].includes(pathStyle)) {
    throw new ConfigError(`GENLOOP_S3_FORCE_PATH_STYLE="${pathStyle}" is not true or false.`);
  }
  const s3 = {
    endpoint,
    region:
      emptyToUndefined(env.GENLOOP_S3_REGION) ?? emptyToUndefined(env.AWS_REGION) ?? 'us-east-1',
    accessKeyId:
      emptyToUndefined(env.GENLOOP_S3_ACCESS_KEY_ID) ?? emptyToUndefined(env.AWS_ACCESS_KEY_ID),
    secretAccessKey:
      emptyToUndefined(env.GENLOOP_S3_SECRET_ACCESS_KEY) ??
      emptyToUndefined(env.AWS_SECRET_ACCESS_KEY),
    // MinIO, s3rver and most self-hosted services only understand path-style addresses.
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : pathStyle === 'true',
    publicUrl,
  };
  if (driver === 's3' && (s3.accessKeyId === undefined) !== (s3.secretAccessKey === undefined)) {
    throw new ConfigError(
      'GENLOOP_S3_ACCESS_KEY_ID and GENLOOP_S3_SECRET_ACCESS_KEY must be set together (or neither, to use the AWS default credentials).',
    );
  }
  return { driver, localDir, signingKey, buckets, s3 };
}

function resolveInterior(env: NodeJS.ProcessEnv, file: FileConfig): InteriorSettings {
  const hostsText = emptyToUndefined(env.GENLOOP_ASSET_HOSTS);
  const assetHosts = (
    hostsText === undefined
      ? (file.assetHosts ?? ['replicate.delivery', '*.replicate.delivery'])
      : hostsText.split(',')
  )
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
  for (const host of assetHosts) {
    if (!HOST_PATTERN.test(host)) {
      throw new ConfigError(
        `GENLOOP_ASSET_HOSTS holds "${host}", which is not a host name; list host names such as replicate.delivery or *.replicate.delivery, comma-separated.`,
      );
    }
  }
  return {
    uploadMaxBytes: integerSetting(
      'GENLOOP_UPLOAD_MAX_BYTES',
      parseIntegerEnv('GENLOOP_UPLOAD_MAX_BYTES', env.GENLOOP_UPLOAD_MAX_BYTES) ?? 10 * 1024 * 1024,
      1024,
      100 * 1024 * 1024,
    ),
    maxInputPixels: integerSetting(
      'GENLOOP_MAX_INPUT_PIXELS',
      parseIntegerEnv('GENLOOP_MAX_INPUT_PIXELS', env.GENLOOP_MAX_INPUT_PIXELS) ?? 40_000_000,
      1_000_000,
      268_402_689,
    ),
    assetHosts,
    assetMaxBytes: integerSetting(
      'GENLOOP_ASSET_MAX_BYTES',
      parseIntegerEnv('GENLOOP_ASSET_MAX_BYTES', env.GENLOOP_ASSET_MAX_BYTES) ?? 25 * 1024 * 1024,
      1024,
      512 * 1024 * 1024,
    ),
  };
}

function bucketSetting(name: string, value: string | undefined, fallback: string): string {
  const bucket = emptyToUndefined(value) ?? fallback;
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigError(
      `${name}="${bucket}" is not a bucket name; use 3-63 lower-case letters, digits, dots or hyphens.`,
    );
  }
  return bucket;
}

/**
 * The exact origins browsers may call from, normalised as browsers send them in `Origin`
 * (lower-case host, no default port). Credentials are allowed for them, so a wildcard, a path or
 * anything that is not an http(s) origin is refused rather than guessed at.
 */
function resolveCorsOrigins(values: readonly string[]): string[] {
  const origins = new Set<string>();
  for (const raw of values) {
    const value = raw.trim();
    if (value === '') continue;
    const fix =
      'list exact origins as scheme://host[:port] with no path, comma-separated (e.g. https://app.example.com,http://localhost:3000).';
    if (value.includes('*')) {
      throw new ConfigError(
        `GENLOOP_CORS_ORIGINS holds "${value}"; wildcards are not allowed because credentials are; ${fix}`,
      );
    }
    const url = URL.canParse(value) ? new URL(value) : undefined;
    if (
      url === undefined ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      !/^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+$/i.test(value)
    ) {
      throw new ConfigError(
        `GENLOOP_CORS_ORIGINS holds "${value}", which is not an origin; ${fix}`,
      );
    }
    origins.add(url.origin);
  }
  return [...origins];
}

function assertIssuer(issuer: string): void {
  // `iss` is compared byte for byte; a stray space or a malformed URL would refuse every token.
  const valid = /^[\x21-\x7e]+$/.test(issuer) && (!issuer.includes(':') || URL.canParse(issuer));
  if (!valid) {
    throw new ConfigError(
      `GENLOOP_JWT_ISSUER="${issuer}" is not an issuer; give the exact iss claim of your tokens, e.g. https://<project>.supabase.co/auth/v1.`,
    );
  }
}

function assertMetricsToken(token: string): void {
  if (!/^[\x21-\x7e]{24,}$/.test(token)) {
    throw new ConfigError(
      'GENLOOP_METRICS_TOKEN must be at least 24 printable characters without spaces; use a long random token (openssl rand -hex 24).',
    );
  }
}

function assertWebhookSecret(secret: string): void {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    throw new ConfigError(
      'REPLICATE_WEBHOOK_SECRET is not a Standard Webhooks secret; copy the whsec_<base64> value from Replicate (GET /v1/webhooks/default/secret).',
    );
  }
}

/** A random key kept in the data folder, for deployments that have no shared secret to derive from. */
function persistedKey(dataDir: string, fileName: string): string {
  const path = join(dataDir, fileName);
  if (existsSync(path)) {
    const key = readFileSync(path, 'utf8').trim();
    if (key.length >= 32) return key;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return key;
}

function readConfigFile(path: string | undefined, cwd: string): FileConfig {
  const explicit = path !== undefined && path !== '';
  const fullPath = resolve(cwd, explicit ? path : DEFAULT_FILE);
  if (!existsSync(fullPath)) {
    if (explicit) {
      throw new ConfigError(
        `config file ${fullPath} does not exist; fix --config or GENLOOP_CONFIG.`,
      );
    }
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(fullPath, 'utf8'));
  } catch (error) {
    // JSON.parse quotes the offending source, newlines included; the message stays one line.
    const reason = toError(error).message.replace(/\s+/g, ' ');
    throw new ConfigError(`config file ${fullPath} is not valid JSON: ${reason}`, { cause: error });
  }
  const result = fileConfigSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where =
      issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'root');
    throw new ConfigError(`config file ${fullPath}: ${where}: ${issue.message}.`);
  }
  return result.data;
}

function embeddedSecret(dataDir: string): string {
  const path = join(dataDir, EMBEDDED_SECRET_FILE);
  if (existsSync(path)) {
    const secret = readFileSync(path, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function assertDatabaseUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      'DATABASE_URL is not a valid URL; use postgres://user:password@host:5432/database (or unset it to run on embedded PGlite).',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      `DATABASE_URL uses the scheme "${url.protocol.replace(/:$/, '')}"; use postgres://user:password@host:5432/database.`,
    );
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError(
      'DATABASE_URL has no host; use postgres://user:password@host:5432/database.',
    );
  }
}

function assertHttpUrl(name: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}="${value}" is not a URL; give an absolute http(s) URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name}="${value}" must be an http(s) URL.`);
  }
}

/** Parses `<count>/<window>` such as `5/5m`, `100/1h` or `10/30s`. */
function parseRate(name: string, value: string): { limit: number; windowMs: number } {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*(s|m|h|d)\s*$/.exec(value);
  const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError(
      `${name}="${value}" is not a rate; use <count>/<window> such as 5/5m, 100/1h or 10/30s.`,
    );
  }
  return { limit: Number(match[1]), windowMs: Number(match[2]) * units[match[3]!]! };
}

function parseIntegerEnv(name: string, value: string | undefined): number | undefined {
  const text = emptyToUndefined(value);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) {
    throw new ConfigError(`${name}="${text}" is not a whole number; set ${name} to digits only.`);
  }
  return Number(text.trim());
}

function integerSetting(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name}=${value} is out of range; use an integer from ${min} to ${max}.`,
    );
  }
  return value;
}

function enumSetting<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${name}="${value}" is not one of ${allowed.join(', ')}.`);
  }
  return value as T;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
