import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchListening } from '../helpers/process.ts';

// The package as a user gets it: `npm pack` (whose prepack builds dist/), then `npm install` of
// the tarball into an empty folder, then the CLI, the server and the typed client on plain Node,
// with no TypeScript loader and no devDependencies. The pack runs in a copy of the project so
// the test never writes into the working tree (a stale dist/ there would hide nothing, but a
// test must not leave files behind).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
};
/** What the build reads besides the files the package ships. */
const BUILD_INPUTS = ['package.json', 'src', 'scripts', 'tsconfig.json', 'tsconfig.build.json'];

const run = promisify(execFile);
let work: string;
let consumer: string;

/**
 * The environment of the commands: none of this test run's own settings (npm's lifecycle
 * variables would point npm back at the project, NODE_OPTIONS could carry a loader, GENLOOP_*
 * and DATABASE_URL a database).
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|GENLOOP_|DATABASE_URL$|NODE_OPTIONS$|NODE_ENV$|VITEST|INIT_CWD$)/i.test(key)) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

async function sh(command: string, args: string[], cwd: string, extra = {}) {
  return run(command, args, { cwd, env: cleanEnv(extra), maxBuffer: 64 * 1024 * 1024 });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'genloop-package-'));
  const source = join(work, 'source');
  // `docs/*.md` is copied as `docs`: npm applies the pattern when it packs.
  const paths = [...BUILD_INPUTS, ...manifest.files.map((entry) => entry.split('/*')[0]!)];
  for (const path of [...paths, 'README.md', 'LICENSE']) {
    if (!existsSync(join(ROOT, path))) continue;
    mkdirSync(dirname(join(source, path)), { recursive: true });
    cpSync(join(ROOT, path), join(source, path), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  await sh('npm', ['pack', '--pack-destination', work], source);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  expect(tarball, 'npm pack wrote no tarball').toBeDefined();

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), '{ "name": "consumer", "private": true }\n');
  await sh(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball!)],
    consumer,
  );
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('ships the build, not the sources, and nothing that reports installs', () => {
    const installed = join(consumer, 'node_modules', 'genloop');
    expect(existsSync(join(installed, 'dist', 'main.mjs'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(readdirSync(join(installed, 'supabase', 'migrations')).length).toBeGreaterThan(0);
    for (const tool of ['tsx', 'esbuild', 'typescript', 'vitest', '@scarf/scarf']) {
      expect(existsSync(join(consumer, 'node_modules', tool)), tool).toBe(false);
    }
  });

  it('runs `genloop --version`', async () => {
    const { stdout } = await sh('npx', ['--no', '--', 'genloop', '--version'], consumer);
    expect(stdout.trim()).toBe(manifest.version);
  }, 60_000);

  it('serves on PGlite without the AWS SDK, and stops on SIGTERM', async () => {
    // The SDK loads only for the S3 storage driver: a server on the local driver runs without it.
    rmSync(join(consumer, 'node_modules', '@aws-sdk'), { recursive: true, force: true });
    const child = spawn('npx', ['--no', '--', 'genloop', 'serve'], {
      cwd: consumer,
      env: cleanEnv({ GENLOOP_DATA_DIR: join(work, 'data'), PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // npx does not pass SIGTERM on to genloop, so it goes to their whole process group.
      detached: true,
    });
    const server = watchListening(child);
    try {
      const url = await server.url;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const styles = await fetch(`${url}/docs/assets/swagger-ui.css`);
      expect(styles.status).toBe(200);
      await styles.arrayBuffer();
      // The console's prebuilt bundle ships: the package has no sources and no esbuild.
      const shell = await (await fetch(`${url}/console`)).text();
      const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(shell)?.[1];
      expect(script, shell).toBeDefined();
      const bundle = await fetch(`${url}${script}`);
      expect(bundle.status).toBe(200);
      expect(bundle.headers.get('cache-control')).toMatch(/immutable/);
      expect(await bundle.text()).toMatch(/^\/\*! genloop console;/);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    await expect.poll(() => groupAlive(child.pid!), { timeout: 20_000 }).toBe(false);
    expect(server.output()).toMatch(/shutting down/);
    expect(server.output()).not.toMatch(/error during shutdown|shutdown took too long/);
  }, 120_000);

  it('imports genloop/client and genloop on plain Node', async () => {
    const script = [
      "const client = await import('genloop/client');",
      "const runtime = await import('genloop');",
      'console.log(typeof client.createGenloopClient, typeof runtime.startRuntime);',
    ].join('\n');
    const { stdout } = await sh('node', ['--input-type=module', '-e', script], consumer);
    expect(stdout.trim()).toBe('function function');
  }, 60_000);
});

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
