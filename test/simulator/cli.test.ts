import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/genloop.js', import.meta.url));

describe('genloop simulator', () => {
  it('prints its URL, serves the providers with the given faults, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'simulator', '--port', '0', '--faults', 'openai=error:429:3'],
      {
        env: { ...process.env, GENLOOP_LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      const lines = createInterface({ input: child.stdout! });
      let url: string | undefined;
      const printed: string[] = [];
      for await (const line of lines) {
        printed.push(line);
        url ??= line.match(/listening on (http:\/\/\S+)/)?.[1];
        if (line.startsWith('faults:')) break;
      }
      expect(url).toBeDefined();
      expect(printed.join('\n')).toContain(`openai     ${url}/openai/v1`);
      const response = await fetch(`${url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sim', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('3');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('refuses a bad --faults spec with exit code 1 and a one-line reason', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'simulator', '--port', '0', '--faults', 'openai=explode'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) =>
      child.on('exit', (exit) => resolve(exit)),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/genloop: simulator: unknown fault "explode"/);
  });
});
