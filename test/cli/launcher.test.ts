import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  evalRunArgs,
  goodRecords,
  SAFE_SITE,
  temporaryDir,
  writeJsonl,
} from '../eval/cli-helpers.ts';
import { createEmptyDatabase, drivers } from '../helpers/db.ts';

// bin/genloop.js runs the CLI from an esbuild bundle of the sources (bin/load-cli.js), or
// through tsx with GENLOOP_CLI_BUNDLE=0. Both must behave the same, including the parts that
// read files next to the sources (migrations, overlays) and the eval worker threads.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/genloop.js');
// A cache of this file's own, inside the project so the bundle resolves node_modules.
const CACHE = join(ROOT, 'node_modules', '.cache', `genloop-test-${randomUUID()}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function genloop(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { DATABASE_URL: _inherited, ...parentEnv } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { ...parentEnv, CI: 'true', GENLOOP_CLI_CACHE: CACHE, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function bundles(): string[] {
  return existsSync(CACHE) ? readdirSync(CACHE).filter((name) => name.startsWith('cli-')) : [];
}

afterAll(() => {
  rmSync(CACHE, { recursive: true, force: true });
});

describe('bin/genloop.js', () => {
  it('builds the bundle once, reuses it, and gives the same eval report as the sources', async () => {
    const dir = temporaryDir();
    const unsafe = {
      ...SAFE_SITE,
      sections: [{ id: 'x', type: 'hero', html: '<a href="javascript:x()" class="p-4">x</a>' }],
    };
    const records = goodRecords(400).map((record, index) =>
      index % 9 === 0 ? { ...record, output: unsafe, fallback_used: true } : record,
    );
    const input = writeJsonl(join(dir, 'records.jsonl'), records);
    const gates = join(dir, 'gates.json');
    writeFileSync(gates, JSON.stringify({ safety_html_tailwind_compliance_min: 0.5 }));
    const report = (name: string) => evalRunArgs(input, gates, join(dir, `${name}.json`), '2');

    const first = await genloop(report('bundled'));
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(bundles()).toHaveLength(1);
    const bundle = join(CACHE, bundles()[0]!);
    expect(existsSync(join(bundle, 'main.mjs'))).toBe(true);
    expect(existsSync(join(bundle, 'scan-thread.mjs'))).toBe(true);

    const again = await genloop(report('again'));
    expect(again.code).toBe(0);
    expect(bundles()).toEqual([bundle.split('/').pop()]);

    const sources = await genloop(report('sources'), { GENLOOP_CLI_BUNDLE: '0' });
    expect(sources, sources.stderr).toMatchObject({ code: 0 });

    const read = (name: string) => {
      const { metrics, gates, sample_count } = JSON.parse(
        readFileSync(join(dir, `${name}.json`), 'utf8'),
      );
      return { metrics, gates, sample_count };
    };
    expect(read('bundled').sample_count).toBe(400);
    expect(read('bundled').metrics.safety_html_tailwind_compliance).toBeCloseTo(355 / 400, 6);
    expect(read('again')).toEqual(read('bundled'));
    expect(read('sources')).toEqual(read('bundled'));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('reports a bad input line the same way from the bundle', async () => {
    const dir = temporaryDir();
    const input = join(dir, 'bad.jsonl');
    writeJsonl(input, [...goodRecords(3), { ...goodRecords(1)[0], latency_ms: -5 }]);
    const gates = join(dir, 'gates.json');
    writeFileSync(gates, '{}');
    const result = await genloop(evalRunArgs(input, gates, join(dir, 'r.json')));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/line 4/);
    expect(result.stderr).toMatch(/latency_ms/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  for (const driver of drivers) {
    it(`finds the migrations and overlays from the bundle [${driver}]`, async () => {
      const database = driver === 'pg' ? await createEmptyDatabase('pg') : undefined;
      const dataDir = temporaryDir('genloop-launcher-');
      const target =
        database === undefined ? ['--data-dir', dataDir] : ['--database-url', database.url!];
      try {
        const apply = await genloop([...target, 'rollout', 'apply', '--env', 'single_db']);
        expect(apply, apply.stderr).toMatchObject({ code: 0 });
        const verify = await genloop([...target, 'rollout', 'verify', '--env', 'single_db']);
        expect(verify, verify.stderr).toMatchObject({ code: 0 });
        expect(verify.stdout).toMatch(/non_prod_enabled_count/);
        const status = await genloop([...target, 'db', 'status']);
        expect(status.code).toBe(0);
        expect(status.stdout).not.toMatch(/pending/);
      } finally {
        await database?.dispose();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 90_000);
  }
});
