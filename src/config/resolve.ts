import { createHmac } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ConfigError } from '../lib/errors.ts';
import { readConfigFile } from './config-file.ts';
import { dataSecret } from './data-secret.ts';
import type { FileConfig, ResolvedConfig, StorageSettings } from './schema.ts';
import type { Values } from './setting.ts';
import { settings } from './settings.ts';
import { resolveTable } from './table.ts';

/** Values given on the command line; they win over everything else. */
export type ConfigFlags = FileConfig & { config?: string };

export interface ResolveOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type Draft = Values<typeof settings, 'draft'>;

/**
 * Resolves genloop's configuration once: flags > environment > config file > defaults.
 * Throws a {@link ConfigError} whose one-line message names the setting and the fix.
 *
 * @example
 * const config = resolveConfig({ env: process.env, flags: { port: 9000 } });
 */
export function resolveConfig(options: ResolveOptions = {}): ResolvedConfig {
  const env = options.env ?? {};
  const { config: configPath, ...flags } = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();
  const file = readConfigFile(configPath ?? env.GENLOOP_CONFIG, cwd);
  const draft = resolveTable(settings, { flags, env, file });

  const mode = draft.databaseUrl === undefined ? 'embedded' : 'postgres';
  const dataDir = resolve(cwd, draft.dataDir);
  // Embedded mode signs its own dev tokens; a server deployment must be given a secret or JWKS.
  const jwtSecret =
    draft.auth.jwtSecret ??
    (mode === 'embedded' && draft.auth.jwksUrl === undefined
      ? dataSecret(dataDir, 'jwt-secret', 48)
      : undefined);
  const config: ResolvedConfig = {
    ...draft,
    mode,
    dataDir,
    // Test runs stay quiet unless a test asks for logs.
    logLevel: draft.logLevel ?? (env.NODE_ENV === 'test' || env.VITEST ? 'silent' : 'info'),
    // Links and webhook addresses are stored with jobs, so outside embedded mode they never come
    // from a request's Host header: without the setting they name this machine's own port.
    publicBaseUrl:
      draft.publicBaseUrl ?? (mode === 'postgres' ? `http://localhost:${draft.port}` : undefined),
    auth: { ...draft.auth, jwtSecret },
    storage: storageSettings(draft.storage, { cwd, dataDir, jwtSecret }),
  };
  return deepFreeze(config);
}

function storageSettings(
  storage: Draft['storage'],
  context: { cwd: string; dataDir: string; jwtSecret: string | undefined },
): StorageSettings {
  const { buckets, s3 } = storage;
  if (buckets.uploads === buckets.renders) {
    throw new ConfigError(
      `GENLOOP_UPLOADS_BUCKET and GENLOOP_RENDERS_BUCKET are both "${buckets.uploads}"; uploads are private and renders public, so give them different buckets.`,
    );
  }
  if (
    storage.driver === 's3' &&
    (s3.accessKeyId === undefined) !== (s3.secretAccessKey === undefined)
  ) {
    throw new ConfigError(
      'GENLOOP_S3_ACCESS_KEY_ID and GENLOOP_S3_SECRET_ACCESS_KEY must be set together (or neither, to use the AWS default credentials).',
    );
  }
  return {
    ...storage,
    localDir: resolve(context.cwd, storage.localDir ?? join(context.dataDir, 'storage')),
    // Replicas sharing the JWT secret also share the link key, without another setting.
    signingKey:
      storage.signingKey ??
      (context.jwtSecret === undefined
        ? dataSecret(context.dataDir, 'storage-signing-key', 32)
        : createHmac('sha256', context.jwtSecret)
            .update('genloop storage links v1')
            .digest('base64url')),
    // MinIO, s3rver and most self-hosted services only understand path-style addresses.
    s3: { ...s3, forcePathStyle: s3.forcePathStyle ?? s3.endpoint !== undefined },
  };
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

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
