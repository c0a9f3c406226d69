import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { loadMigrations } from '../../src/db/migrator.ts';
import { createTokenVerifier } from '../../src/http/middleware/auth/index.ts';
import { createEmptyDatabase, describeEachDriver, type TestDatabase } from '../helpers/db.ts';

const SECRET = 'cli-test-secret-0123456789abcdefghijklmnopq';
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/x';
const MIGRATION_FILES = loadMigrations().map((migration) => migration.file);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in this process with `env` and nothing from the test's own environment. The data
 * folder defaults to a fresh temporary one, so no run writes into the repository's .genloop/.
 */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env: { GENLOOP_DATA_DIR: temporaryDir(), ...env },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

/** An operator error: exit 1 and exactly one line on stderr starting `genloop:`, no stack. */
function expectOneLineError(result: Run): string {
  expect(result.code).toBe(1);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^genloop: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr).not.toContain('unexpected error');
  return lines[0]!;
}

const temporaryDirs: string[] = [];
function temporaryDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'genloop-cli-'));
  temporaryDirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeEachDriver('genloop db migrate and db status', (use, driver) => {
  const opened: TestDatabase[] = [];
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.dispose();
  });

  /** Global flags and env that point the CLI at a fresh, empty database of this driver. */
  const freshTarget = async (): Promise<{ flags: string[]; env: NodeJS.ProcessEnv }> => {
    if (driver === 'pglite') return { flags: ['--data-dir', temporaryDir()], env: {} };
    const database = await createEmptyDatabase('pg');
    opened.push(database);
    return { flags: [], env: { DATABASE_URL: database.url! } };
  };

  it('applies every migration on a fresh database, then says it is up to date', async () => {
    const { flags, env } = await freshTarget();
    const first = await run([...flags, 'db', 'migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const applied = first.stdout
      .split('\n')
      .filter((line) => line.startsWith('applied '))
      .map((line) => line.split(' ')[1]);
    expect(applied).toEqual(MIGRATION_FILES);
    expect(first.stdout).not.toContain('up to date');

    const second = await run([...flags, 'db', 'migrate'], env);
    expect(second).toEqual({
      code: 0,
      stdout: 'database is up to date\nsemantic cache: on (pgvector)\n',
      stderr: '',
    });
  });

  it('db status lists every migration as pending, then as applied', async () => {
    const { flags, env } = await freshTarget();
    const before = await run([...flags, 'db', 'status'], env);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain(`${MIGRATION_FILES.length} pending; run genloop db migrate`);

    expect((await run([...flags, 'db', 'migrate'], env)).code).toBe(0);
    const after = await run([...flags, 'db', 'status'], env);
    expect(after.code).toBe(0);
    expect(after.stderr).toBe('');
    for (const migration of loadMigrations()) {
      expect(after.stdout).toMatch(
        new RegExp(`${migration.version}\\s+${migration.name}\\s+applied`),
      );
    }
    expect(after.stdout.trimEnd().endsWith('database is up to date')).toBe(true);
  });

  if (driver === 'pg') {
    it('db status on the migrated test database reports it up to date', async () => {
      const result = await run(['db', 'status'], { DATABASE_URL: use().url! });
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('pending');
      expect(result.stdout).toContain('database is up to date');
    });
  } else {
    it('keeps the embedded database in the given data folder', async () => {
      const dataDir = temporaryDir();
      expect((await run(['--data-dir', dataDir, 'db', 'migrate'])).code).toBe(0);
      expect(existsSync(join(dataDir, 'pgdata'))).toBe(true);
      // The pid lock is released when the command ends.
      expect(existsSync(join(dataDir, 'genloop.pid'))).toBe(false);
      expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);
    });
  }
});

describe('genloop --version', () => {
  it('prints the package version and exits 0, with -V too', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) {
      expect(await run([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });
});

describe('genloop stops bad input with one clear line', () => {
  it('a malformed DATABASE_URL: exit 1 naming DATABASE_URL', async () => {
    const line = expectOneLineError(await run(['db', 'migrate'], { DATABASE_URL: 'not a url' }));
    expect(line).toContain('DATABASE_URL');
  });

  it('a DATABASE_URL with another scheme: exit 1 naming DATABASE_URL', async () => {
    const line = expectOneLineError(
      await run(['db', 'status'], { DATABASE_URL: 'mysql://root@127.0.0.1/app' }),
    );
    expect(line).toContain('DATABASE_URL');
  });

  it('an unreachable database: exit 1 with cannot reach Postgres', async () => {
    for (const command of [
      ['db', 'migrate'],
      ['db', 'status'],
    ]) {
      const line = expectOneLineError(await run(command, { DATABASE_URL: UNREACHABLE }));
      expect(line).toContain('cannot reach Postgres at 127.0.0.1:1/x');
      expect(line).toContain('DATABASE_URL');
    }
  });

  it('an unreachable database given by --database-url: the same line', async () => {
    const line = expectOneLineError(await run(['--database-url', UNREACHABLE, 'db', 'migrate']));
    expect(line).toContain('cannot reach Postgres');
  });

  it('serve with DATABASE_URL and no JWT secret: exit 1 naming GENLOOP_JWT_SECRET', async () => {
    const line = expectOneLineError(
      await run(['serve', '--port', '0'], { DATABASE_URL: UNREACHABLE }),
    );
    expect(line).toContain('GENLOOP_JWT_SECRET');
  });

  it('a bad PORT: exit 1 naming PORT', async () => {
    const line = expectOneLineError(
      await run(['token', '--user', randomUUID()], { GENLOOP_JWT_SECRET: SECRET, PORT: 'x' }),
    );
    expect(line).toContain('PORT');
  });

  it('an unknown command: exit 1', async () => {
    const result = await run(['no-such-command']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no-such-command');
  });
});

describe('genloop token', () => {
  it('prints a JWT that the server verifier accepts', async () => {
    const user = randomUUID();
    const result = await run(['token', '--user', user], { GENLOOP_JWT_SECRET: SECRET });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const token = result.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const payload = await createTokenVerifier({ jwtSecret: SECRET })(token);
    expect(payload).toMatchObject({ sub: user, role: 'authenticated', aud: 'authenticated' });
    expect(payload.exp! - payload.iat!).toBe(24 * 3600);
  });

  it('prints a service_role token with --role service_role', async () => {
    const user = randomUUID();
    const result = await run(
      ['token', '--user', user, '--role', 'service_role', '--expires-in', '15m'],
      {
        GENLOOP_JWT_SECRET: SECRET,
      },
    );
    expect(result.code).toBe(0);
    const payload = await createTokenVerifier({ jwtSecret: SECRET })(result.stdout.trim());
    expect(payload).toMatchObject({ sub: user, role: 'service_role' });
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
  });

  it('is rejected by a verifier with another secret', async () => {
    const result = await run(['token', '--user', randomUUID()], { GENLOOP_JWT_SECRET: SECRET });
    const other = createTokenVerifier({ jwtSecret: 'x'.repeat(40) });
    await expect(other(result.stdout.trim())).rejects.toThrow();
  });

  it('in embedded mode signs with the secret kept in the data folder', async () => {
    const dataDir = temporaryDir();
    const user = randomUUID();
    const result = await run(['--data-dir', dataDir, 'token', '--user', user]);
    expect(result.code).toBe(0);
    const secret = readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim();
    const payload = await createTokenVerifier({ jwtSecret: secret })(result.stdout.trim());
    expect(payload.sub).toBe(user);

    const again = await run(['--data-dir', dataDir, 'token', '--user', user]);
    await expect(
      createTokenVerifier({ jwtSecret: secret })(again.stdout.trim()),
    ).resolves.toMatchObject({ sub: user });
  });

  it('refuses a user that is not a uuid', async () => {
    const line = expectOneLineError(
      await run(['token', '--user', 'not-a-uuid'], { GENLOOP_JWT_SECRET: SECRET }),
    );
    expect(line).toContain('--user "not-a-uuid" is not a uuid');
  });

  it('refuses an unknown role', async () => {
    const line = expectOneLineError(
      await run(['token', '--user', randomUUID(), '--role', 'admin'], {
        GENLOOP_JWT_SECRET: SECRET,
      }),
    );
    expect(line).toContain('--role "admin"');
  });

  it('with DATABASE_URL and no secret says which setting is missing', async () => {
    const line = expectOneLineError(
      await run(['token', '--user', randomUUID()], { DATABASE_URL: UNREACHABLE }),
    );
    expect(line).toContain('GENLOOP_JWT_SECRET');
  });
});
