import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root (benchmarks start `bin/genloop.js` and Portkey from here). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A child process a benchmark started; `stop()` ends it and waits for its exit. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything it wrote so far (stdout and stderr), for error messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<number | NodeJS.Signals>;
}

const children = new Set<Child>();
const cleanups = new Set<() => Promise<void>>();
let cleanupInstalled = false;

/**
 * Runs `fn` when the benchmark is interrupted (after the children are stopped), e.g. to drop its
 * database; returns a function that unregisters it once the normal path has done the work.
 */
export function onInterrupt(fn: () => Promise<void>): () => void {
  installCleanup();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * Starts `command args` and resolves once a line of its output matches `ready` (with the match),
 * or rejects when it exits first or `timeoutMs` passes. Every child is also stopped when the
 * benchmark exits or is interrupted, so a failed run leaves nothing behind.
 */
export async function startChild(options: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  ready: RegExp;
  timeoutMs?: number;
  /** Where it runs (default: this checkout's root). */
  cwd?: string;
}): Promise<{ child: Child; match: RegExpExecArray }> {
  installCleanup();
  const proc = spawn(options.command, options.args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    proc.once('exit', (code, signal) => resolve(signal ?? code ?? 0));
  });
  const child: Child = {
    name: options.name,
    process: proc,
    output: () => output,
    exited,
    async stop(graceMs = 20_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
      return exited;
    },
  };
  children.add(child);

  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        fail(new Error(`${options.name} did not start within ${options.timeoutMs ?? 30_000} ms`)),
      options.timeoutMs ?? 30_000,
    );
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void child.stop(1_000).then(() => reject(new Error(`${error.message}\n${tail(output)}`)));
    };
    const onData = (chunk: Buffer) => {
      // Portkey clears the screen and draws a spinner: keep the text, drop escape sequences.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the sequences dropped.
      output += chunk.toString('utf8').replace(/\x1b\[[0-9;]*[a-zA-Z]/g, '');
      if (output.length > 200_000) output = output.slice(-100_000);
      if (settled) return;
      const match = options.ready.exec(output);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('error', (error) => fail(error));
    void exited.then((code) =>
      fail(new Error(`${options.name} exited (${code}) before it was ready`)),
    );
  });
}

/** Stops every child still running (in parallel). */
export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(graceMs)));
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc; undefined where there is
 * no /proc. On a shared machine CPU per request is steadier than latency or throughput.
 */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU time so far of each process in `pids` that still runs, by pid. */
export function cpuTimesMs(pids: readonly number[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    const ms = cpuTimeMs(pid);
    if (ms !== undefined) times.set(pid, ms);
  }
  return times;
}

/**
 * CPU spent between two samples of `cpuTimesMs` by the processes of the later one (a process
 * that started in between counts from zero).
 */
export function cpuSpentMs(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** USER_HZ: 100 on every mainstream Linux build. */
const CLOCK_TICKS = 100;

/** Node flags that write a CPU profile into `dir` when the process exits (none without a dir). */
export function profileFlags(dir: string | undefined): string[] {
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** A port that was free a moment ago (for programs that cannot listen on port 0 and say where). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx, or throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tail(text: string): string {
  return text.split('\n').slice(-20).join('\n');
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // Last resort: a benchmark that crashes or is interrupted still takes its children with it.
  process.once('exit', () => {
    for (const child of children) child.process.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping child processes\n`);
      void stopAll(2_000)
        .then(() => Promise.allSettled([...cleanups].map((fn) => fn())))
        .finally(() => process.exit(130));
    });
  }
}
