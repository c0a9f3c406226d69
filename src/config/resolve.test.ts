import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/errors.ts';
import { assertAuthConfigured, assertPublicUrlReachable, resolveConfig } from './resolve.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const DATABASE_URL = 'postgres://genloop:password@db.example.com:5432/genloop';

let cwd: string;

beforeEach(() => {
  // Every test resolves in a folder of its own: no genloop.config.json or .genloop/ leaks in.
  cwd = mkdtempSync(join(tmpdir(), 'genloop-config-'));
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function writeConfigFile(content: unknown, name = 'genloop.config.json'): string {
  const path = join(cwd, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** Resolves with `env` and expects a one-line ConfigError; returns its message. */
function configError(options: Parameters<typeof resolveConfig>[0]): string {
  let caught: unknown;
  try {
    resolveConfig({ cwd, ...options });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as ConfigError).message;
  expect(message).not.toContain('\n');
  expect((caught as ConfigError).exitCode).toBe(1);
  return message;
}

describe('resolveConfig precedence', () => {
  it('uses the defaults when nothing is set', () => {
    const config = resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd });
    expect(config).toMatchObject({
      mode: 'embedded',
      databaseUrl: undefined,
      dataDir: join(cwd, '.genloop'),
      host: '0.0.0.0',
      port: 8787,
      environment: 'prod',
      simulator: 'auto',
      bodyLimitBytes: 1024 * 1024,
      jsonLimitBytes: 1024 * 1024,
      corsOrigins: [],
      metricsToken: undefined,
      databasePoolSize: 10,
      auth: {
        jwtSecret: SECRET,
        jwksUrl: undefined,
        audience: 'authenticated',
        issuer: undefined,
      },
    });
  });

  it('takes the config file over the defaults', () => {
    writeConfigFile({ port: 7001, environment: 'staging', simulator: 'off', host: '127.0.0.1' });
    const config = resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd });
    expect(config).toMatchObject({
      port: 7001,
      environment: 'staging',
      simulator: 'off',
      host: '127.0.0.1',
    });
  });

  it('takes the environment over the config file', () => {
    writeConfigFile({ port: 7001, environment: 'staging', simulator: 'off' });
    const config = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET, PORT: '7002', GENLOOP_ENV: 'qa' },
      cwd,
    });
    expect(config).toMatchObject({ port: 7002, environment: 'qa', simulator: 'off' });
  });

  it('takes flags over the environment and the config file', () => {
    writeConfigFile({ port: 7001, environment: 'staging', databaseUrl: 'postgres://file/db' });
    const config = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET, PORT: '7002', DATABASE_URL },
      flags: { port: 7003, databaseUrl: 'postgres://flag.example.com/genloop' },
      cwd,
    });
    expect(config).toMatchObject({
      port: 7003,
      environment: 'staging',
      databaseUrl: 'postgres://flag.example.com/genloop',
      mode: 'postgres',
    });
  });

  it('reads a config file named by --config relative to cwd', () => {
    writeConfigFile({ port: 7100 }, 'other.json');
    const config = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET },
      flags: { config: 'other.json' },
      cwd,
    });
    expect(config.port).toBe(7100);
  });

  it('treats empty environment variables as unset', () => {
    writeConfigFile({ port: 7001 });
    const config = resolveConfig({
      env: { GENLOOP_JWT_SECRET: SECRET, PORT: '', DATABASE_URL: '  ' },
      cwd,
    });
    expect(config).toMatchObject({ port: 7001, mode: 'embedded' });
  });

  it('returns a deeply frozen object', () => {
    const config = resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.providers)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.auth as { jwtSecret: string }).jwtSecret = 'x';
    }).toThrow(TypeError);
    expect(config.port).toBe(8787);
  });
});

describe('resolveConfig rejects bad settings with one line naming the setting', () => {
  it('a malformed DATABASE_URL', () => {
    const message = configError({ env: { DATABASE_URL: 'not a url' } });
    expect(message).toMatch(/^DATABASE_URL is not a valid URL/);
    expect(message).toContain('postgres://');
  });

  it('a DATABASE_URL with another scheme', () => {
    const message = configError({ env: { DATABASE_URL: 'mysql://root@localhost:3306/app' } });
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('"mysql"');
  });

  it('a PORT that is not a number', () => {
    const message = configError({ env: { GENLOOP_JWT_SECRET: SECRET, PORT: 'eighty' } });
    expect(message).toContain('PORT="eighty"');
  });

  it('a PORT out of range', () => {
    const message = configError({ env: { GENLOOP_JWT_SECRET: SECRET, PORT: '70000' } });
    expect(message).toContain('PORT=70000');
    expect(message).toContain('0 to 65535');
  });

  it('a GENLOOP_SIMULATOR that is not auto, on or off', () => {
    const message = configError({
      env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_SIMULATOR: 'sometimes' },
    });
    expect(message).toContain('GENLOOP_SIMULATOR="sometimes"');
    expect(message).toContain('auto, on, off');
  });

  it('a GENLOOP_JWT_SECRET shorter than 32 characters', () => {
    const message = configError({ env: { GENLOOP_JWT_SECRET: 'short-secret' } });
    expect(message).toContain('GENLOOP_JWT_SECRET');
    expect(message).toContain('12 characters');
    expect(message).toContain('at least 32');
  });

  it('an unknown key in the config file', () => {
    const path = writeConfigFile({ port: 8000, databseUrl: 'postgres://typo/db' });
    const message = configError({ env: { GENLOOP_JWT_SECRET: SECRET } });
    expect(message).toContain(path);
    expect(message).toContain('databseUrl');
  });

  it('a value of the wrong type in the config file', () => {
    writeConfigFile({ port: '8000' });
    const message = configError({ env: { GENLOOP_JWT_SECRET: SECRET } });
    expect(message).toContain('port');
  });

  it('a config file that is not valid JSON, even when the JSON spans lines', () => {
    const path = writeConfigFile('{\n  "port": 8000,\n  "host": \n}\n');
    const message = configError({ env: { GENLOOP_JWT_SECRET: SECRET } });
    expect(message).toContain(path);
    expect(message).toContain('is not valid JSON');
  });

  it('a --config file that does not exist', () => {
    const message = configError({
      env: { GENLOOP_JWT_SECRET: SECRET },
      flags: { config: 'missing.json' },
    });
    expect(message).toContain(join(cwd, 'missing.json'));
    expect(message).toContain('--config');
  });
});

describe('the HTTP security settings', () => {
  it('reads the JSON limit, the issuer, the metrics token and the CORS origins', () => {
    const config = resolveConfig({
      env: {
        GENLOOP_JWT_SECRET: SECRET,
        GENLOOP_JSON_LIMIT_BYTES: '2097152',
        GENLOOP_JWT_ISSUER: 'https://project.supabase.co/auth/v1',
        GENLOOP_METRICS_TOKEN: 'metrics-token-0123456789abcdef',
        GENLOOP_CORS_ORIGINS: ' https://app.example.com, http://localhost:3000 ,',
      },
      cwd,
    });
    expect(config).toMatchObject({
      jsonLimitBytes: 2 * 1024 * 1024,
      metricsToken: 'metrics-token-0123456789abcdef',
      corsOrigins: ['https://app.example.com', 'http://localhost:3000'],
      auth: { issuer: 'https://project.supabase.co/auth/v1' },
    });
  });

  it('keeps CORS origins as browsers send them: lower-case host, no default port, once each', () => {
    const config = resolveConfig({
      env: {
        GENLOOP_JWT_SECRET: SECRET,
        GENLOOP_CORS_ORIGINS:
          'https://App.Example.com:443,https://app.example.com,http://[::1]:8080',
      },
      cwd,
    });
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'http://[::1]:8080']);
  });

  it('takes the JSON limit, the issuer and the CORS origins from the config file', () => {
    writeConfigFile({
      jsonLimitBytes: 4096,
      jwtIssuer: 'genloop-staging',
      corsOrigins: ['https://staging.example.com'],
    });
    const config = resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd });
    expect(config).toMatchObject({
      jsonLimitBytes: 4096,
      corsOrigins: ['https://staging.example.com'],
      auth: { issuer: 'genloop-staging' },
    });
  });

  it.each([
    ['big', 'GENLOOP_JSON_LIMIT_BYTES="big"'],
    ['1000', 'GENLOOP_JSON_LIMIT_BYTES=1000'],
    [String(128 * 1024 * 1024), '1024 to 67108864'],
  ])('refuses GENLOOP_JSON_LIMIT_BYTES=%s', (value, expected) => {
    const message = configError({
      env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_JSON_LIMIT_BYTES: value },
    });
    expect(message).toContain(expected);
  });

  it.each([
    ['*', 'wildcards are not allowed'],
    ['https://*.example.com', 'wildcards are not allowed'],
    ['https://app.example.com/', 'not an origin'],
    ['https://app.example.com/app', 'not an origin'],
    ['https://app.example.com?x=1', 'not an origin'],
    ['https://user@app.example.com', 'not an origin'],
    ['app.example.com', 'not an origin'],
    ['ftp://files.example.com', 'not an origin'],
    ['null', 'not an origin'],
    ['https://app.example.com:99999', 'not an origin'],
  ])('refuses GENLOOP_CORS_ORIGINS=%s', (value, expected) => {
    const message = configError({
      env: {
        GENLOOP_JWT_SECRET: SECRET,
        GENLOOP_CORS_ORIGINS: `https://ok.example.com,${value}`,
      },
    });
    expect(message).toContain(`GENLOOP_CORS_ORIGINS holds "${value}"`);
    expect(message).toContain(expected);
    expect(message).toContain('scheme://host[:port]');
  });

  it.each(['https://project.supabase.co/auth/v1 ', 'my issuer', 'https://[broken'])(
    'refuses GENLOOP_JWT_ISSUER=%j',
    (value) => {
      const message = configError({
        env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_JWT_ISSUER: value },
      });
      expect(message).toContain('GENLOOP_JWT_ISSUER=');
      expect(message).toContain('iss');
    },
  );

  it.each(['short', 'a token with spaces that is long enough'])(
    'refuses GENLOOP_METRICS_TOKEN=%j',
    (value) => {
      const message = configError({
        env: { GENLOOP_JWT_SECRET: SECRET, GENLOOP_METRICS_TOKEN: value },
      });
      expect(message).toContain('GENLOOP_METRICS_TOKEN');
      expect(message).toContain('at least 24');
      // The token is a secret: the message does not repeat it.
      expect(message).not.toContain(value);
    },
  );
});

describe('the embedded JWT secret', () => {
  it('is created once in the data folder and reused', () => {
    const dataDir = join(cwd, 'data');
    const first = resolveConfig({ env: { GENLOOP_DATA_DIR: dataDir }, cwd });
    const secretFile = join(dataDir, 'jwt-secret');
    expect(first.mode).toBe('embedded');
    expect(existsSync(secretFile)).toBe(true);
    expect(first.auth.jwtSecret).toBeDefined();
    expect(first.auth.jwtSecret!.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(first.auth.jwtSecret);
    expect(statSync(secretFile).mode & 0o077).toBe(0);

    const second = resolveConfig({ env: { GENLOOP_DATA_DIR: dataDir }, cwd });
    expect(second.auth.jwtSecret).toBe(first.auth.jwtSecret);
  });

  it('is not created when a secret is configured', () => {
    const config = resolveConfig({ env: { GENLOOP_JWT_SECRET: SECRET }, cwd });
    expect(config.auth.jwtSecret).toBe(SECRET);
    expect(existsSync(join(cwd, '.genloop', 'jwt-secret'))).toBe(false);
  });

  it('is not created with DATABASE_URL', () => {
    const config = resolveConfig({ env: { DATABASE_URL }, cwd });
    expect(config.mode).toBe('postgres');
    expect(config.auth.jwtSecret).toBeUndefined();
    expect(existsSync(join(cwd, '.genloop', 'jwt-secret'))).toBe(false);
  });
});

describe('assertAuthConfigured', () => {
  it('throws outside embedded mode without a secret or a JWKS URL, naming GENLOOP_JWT_SECRET', () => {
    const config = resolveConfig({ env: { DATABASE_URL }, cwd });
    let caught: unknown;
    try {
      assertAuthConfigured(config);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toContain('GENLOOP_JWT_SECRET');
    expect((caught as ConfigError).message).toContain('GENLOOP_JWKS_URL');
    expect((caught as ConfigError).message).not.toContain('\n');
  });

  it('accepts a secret or a JWKS URL outside embedded mode', () => {
    expect(() =>
      assertAuthConfigured(
        resolveConfig({ env: { DATABASE_URL, GENLOOP_JWT_SECRET: SECRET }, cwd }),
      ),
    ).not.toThrow();
    expect(() =>
      assertAuthConfigured(
        resolveConfig({
          env: { DATABASE_URL, GENLOOP_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json' },
          cwd,
        }),
      ),
    ).not.toThrow();
  });

  it('accepts embedded mode with its generated secret', () => {
    expect(() => assertAuthConfigured(resolveConfig({ env: {}, cwd }))).not.toThrow();
  });
});

describe('the public URL', () => {
  it('outside embedded mode defaults to this machine, never to a request', () => {
    const config = resolveConfig({
      cwd,
      env: { GENLOOP_JWT_SECRET: SECRET, DATABASE_URL, PORT: '7010' },
    });
    expect(config.publicBaseUrl).toBe('http://localhost:7010');
    const embedded = resolveConfig({ cwd, env: {} });
    expect(embedded.publicBaseUrl).toBeUndefined();
    const set = resolveConfig({
      cwd,
      env: {
        GENLOOP_JWT_SECRET: SECRET,
        DATABASE_URL,
        GENLOOP_PUBLIC_URL: 'https://genloop.example.com',
      },
    });
    expect(set.publicBaseUrl).toBe('https://genloop.example.com');
  });

  it('must be public when the real Replicate has to reach it', () => {
    const local = resolveConfig({ cwd, env: { GENLOOP_JWT_SECRET: SECRET, DATABASE_URL } });
    expect(() => assertPublicUrlReachable(local, 'api')).toThrow(
      /GENLOOP_PUBLIC_URL is http:\/\/localhost:8787/,
    );
    expect(() => assertPublicUrlReachable(local, 'simulator')).not.toThrow();
    expect(() => assertPublicUrlReachable(local, 'disabled')).not.toThrow();
    const reachable = resolveConfig({
      cwd,
      env: {
        GENLOOP_JWT_SECRET: SECRET,
        DATABASE_URL,
        GENLOOP_PUBLIC_URL: 'https://genloop.example.com',
      },
    });
    expect(() => assertPublicUrlReachable(reachable, 'api')).not.toThrow();
  });
});
