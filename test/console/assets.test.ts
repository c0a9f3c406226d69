import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { CONSOLE_CSP, consoleAssetRoutes, writePrebuiltBundle } from '../../src/console/assets.ts';
import { describeEachStack } from '../helpers/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The gzipped script the browser downloads stays small (it is about 45 kB today). */
const MAX_SCRIPT_GZIP_BYTES = 80_000;

function assetPaths(shell: string): { script: string; style: string } {
  const script =
    /<script type="module" src="(\/console\/assets\/console-[A-Z0-9]+\.js)"><\/script>/.exec(
      shell,
    )?.[1];
  const style = /<link rel="stylesheet" href="(\/console\/assets\/console-[A-Z0-9]+\.css)">/.exec(
    shell,
  )?.[1];
  if (!script || !style) throw new Error(`no hashed script or stylesheet in the shell:\n${shell}`);
  return { script, style };
}

describeEachStack('the console page and its assets', (use) => {
  it('answers every console path with the same shell: not cached, own scripts only, nothing inline', async () => {
    const { app } = use();
    const shells = new Set<string>();
    for (const path of [
      '/console',
      '/console/',
      '/console/jobs',
      '/console/generations/8d3c',
      '/console/no-such-page',
    ]) {
      const response = await app.request(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      shells.add(await response.text());
    }
    expect(shells.size).toBe(1);
    const [shell] = shells;
    // Every script has a src: the policy allows no inline script, so none may be needed.
    expect(shell!.match(/<script\b[^>]*>/g)).toEqual([expect.stringMatching(/ src="/)]);
    expect(shell).not.toMatch(/ style="| on[a-z]+="/);
    expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe|https?:/);
  });

  it('serves the hashed script and stylesheet for a year, and nothing else under assets', async () => {
    const { app } = use();
    const { script, style } = assetPaths(await (await app.request('/console')).text());
    const js = await app.request(script);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const code = Buffer.from(await js.arrayBuffer());
    expect(code.toString()).toMatch(/^\/\*! genloop console;/);
    expect(gzipSync(code).length).toBeLessThan(MAX_SCRIPT_GZIP_BYTES);
    const css = await app.request(style);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await css.text()).toMatch(/\.uplot/);

    for (const path of [
      '/console/assets/console-AAAAAAAA.js',
      '/console/assets/..%2Fpackage.json',
    ]) {
      const missing = await app.request(path);
      expect(missing.status, path).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/problem\+json/);
    }
  });

  it('revalidates the shell with its ETag', async () => {
    const { app } = use();
    const first = await app.request('/console/evals');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.request('/console/evals', { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves the prebuilt bundle where there are no sources, as an installed package does', async () => {
    const { app } = use();
    const installed = mkdtempSync(join(tmpdir(), 'genloop-console-'));
    try {
      const bundle = await writePrebuiltBundle(ROOT, join(installed, 'dist', 'console'));
      const routes = consoleAssetRoutes({ root: installed });
      const shell = await (await routes.request('/console/providers')).text();
      const { script } = assetPaths(shell);
      expect(script).toBe(`/console/assets/${bundle.script}`);
      const prebuilt = Buffer.from(await (await routes.request(script)).arrayBuffer());
      const built = bundle.files.find((file) => file.name === bundle.script)!;
      expect(prebuilt.equals(Buffer.from(built.contents))).toBe(true);
      // A clone serves the same code, built from its sources (plus a source map link).
      const fromSources = await (
        await app.request(assetPaths(await (await app.request('/console')).text()).script)
      ).text();
      expect(fromSources.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '')).toBe(
        prebuilt.toString().replace(/\n$/, ''),
      );
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });
});
