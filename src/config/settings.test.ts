import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/errors.ts';
import { resolveConfig } from './resolve.ts';
import { type AnySetting, forEachSetting } from './setting.ts';
import { settings } from './settings.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'genloop-settings-'));
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function allSettings(): AnySetting[] {
  const found: AnySetting[] = [];
  forEachSetting(settings, (setting) => found.push(setting));
  return found;
}

describe('the settings table', () => {
  it('gives each environment variable and each config key to one setting only', () => {
    const names = allSettings().flatMap((setting) => setting.names);
    const keys = allSettings().flatMap((setting) => (setting.file ? [setting.file] : []));
    expect(names.length).toBeGreaterThan(40);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('describes every setting for the docs in one line', () => {
    for (const setting of allSettings()) {
      expect(setting.description, setting.names[0]).toMatch(/^\S[^\n|]*$/);
    }
  });

  it('accepts every config key in genloop.config.json and reads it from there', () => {
    const file: Record<string, unknown> = {
      databaseUrl: 'postgres://genloop@db.example.com/genloop',
      databaseDirectUrl: 'postgres://genloop@db-direct.example.com/genloop',
      dataDir: 'data',
      databasePoolSize: 3,
      port: 7001,
      host: '127.0.0.1',
      publicBaseUrl: 'https://genloop.example.com',
      environment: 'staging',
      bodyLimitBytes: 2048,
      jsonLimitBytes: 4096,
      logLevel: 'warn',
      jwtSecret: SECRET,
      jwksUrl: 'https://auth.example.com/jwks.json',
      jwtAudience: 'app',
      jwtIssuer: 'genloop-staging',
      corsOrigins: ['https://app.example.com'],
      simulator: 'off',
      storageDriver: 's3',
      storageDir: 'blobs',
      assetHosts: ['cdn.example.com'],
      pricesFile: 'prices.json',
      cacheDefault: 'exact',
      cacheScope: 'global',
      cacheSemanticDistance: 0.05,
      embeddingModel: 'text-embedding-3-large',
    };
    const keys = allSettings().flatMap((setting) => (setting.file ? [setting.file] : []));
    expect(Object.keys(file).sort()).toEqual([...keys].sort());
    writeFileSync(join(cwd, 'genloop.config.json'), JSON.stringify(file));
    const config = resolveConfig({ env: {}, cwd });
    expect(config).toMatchObject({
      mode: 'postgres',
      databaseDirectUrl: 'postgres://genloop@db-direct.example.com/genloop',
      dataDir: join(cwd, 'data'),
      databasePoolSize: 3,
      logLevel: 'warn',
      auth: { jwtSecret: SECRET, audience: 'app', issuer: 'genloop-staging' },
      storage: { driver: 's3', localDir: join(cwd, 'blobs') },
      interior: { assetHosts: ['cdn.example.com'] },
      cost: { pricesFile: 'prices.json' },
      responseCacheDefault: 'exact',
      responseCacheScope: 'global',
      semanticCacheDistance: 0.05,
      embeddingModel: 'text-embedding-3-large',
    });
  });
});

describe('settings read from more than one variable', () => {
  it('take the first one set', () => {
    const env = { GENLOOP_JWT_SECRET: SECRET, AWS_REGION: 'us-west-2' };
    expect(resolveConfig({ env, cwd }).storage.s3.region).toBe('us-west-2');
    expect(
      resolveConfig({ env: { ...env, GENLOOP_S3_REGION: 'eu-west-1' }, cwd }).storage.s3.region,
    ).toBe('eu-west-1');
  });
});

describe('a bad environment variable', () => {
  it('stops resolution even when a flag overrides it', () => {
    expect(() =>
      resolveConfig({
        env: { GENLOOP_JWT_SECRET: SECRET, PORT: 'eighty' },
        flags: { port: 9000 },
        cwd,
      }),
    ).toThrow(ConfigError);
  });
});

describe('the derived defaults', () => {
  it('put local storage in the data folder and address S3 endpoints by path', () => {
    const config = resolveConfig({
      env: {
        GENLOOP_JWT_SECRET: SECRET,
        GENLOOP_DATA_DIR: 'data',
        GENLOOP_S3_ENDPOINT: 'http://minio.local:9000',
      },
      cwd,
    });
    expect(config.storage.localDir).toBe(join(cwd, 'data', 'storage'));
    expect(config.storage.s3.forcePathStyle).toBe(true);
    expect(
      resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd }).storage.s3.forcePathStyle,
    ).toBe(false);
  });

  it('derive the same link key from the same JWT secret', () => {
    const first = resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd });
    const second = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_DATA_DIR: 'x' },
      cwd,
    });
    expect(first.storage.signingKey).toBe(second.storage.signingKey);
    expect(first.storage.signingKey).not.toContain(SECRET);
  });

  it('refuse one bucket for both uploads and renders', () => {
    expect(() =>
      resolveConfig({
        env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_RENDERS_BUCKET: 'uploads' },
        cwd,
      }),
    ).toThrow(/GENLOOP_UPLOADS_BUCKET and GENLOOP_RENDERS_BUCKET are both "uploads"/);
  });
});
