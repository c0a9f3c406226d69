import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/genloop.js', import.meta.url));

export interface GenloopProcess {
  child: ChildProcess;
  /** Resolves with the base URL once `serve` prints it. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Runs `genloop <args>` as a child process (the real CLI, as an operator would). */
export function spawnGenloop(args: string[], env: Record<string, string>): GenloopProcess {
  // The child gets only the database it is given: no DATABASE_URL inherited from the test run.
  const { DATABASE_URL: _inherited, ...parentEnv } = process.env;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...parentEnv, GENLOOP_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { url, output } = watchListening(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, url, exited, output };
}

/**
 * Watches a `genloop serve` child: `url` resolves with the base URL it prints once it listens
 * and rejects, with everything it printed, if it exits first.
 */
export function watchListening(child: ChildProcess): { url: Promise<string>; output(): string } {
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`genloop exited (${code}) before listening:\n${output}`)),
    );
  });
  url.catch(() => {});
  return { url, output: () => output };
}
