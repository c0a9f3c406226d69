import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** The machine a result was measured on (load average included: other work skews numbers). */
export function machineInfo() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

const PROBE_RECORD = JSON.stringify({
  id: 'gen-00000001',
  created_at: '2026-02-15T00:00:00.080Z',
  latency_ms: 795,
  fallback_used: false,
  selected_provider: 'openai',
  tags: ['a', 'b', 'c'],
  output: { title: 'x'.repeat(60), sections: [{ id: 'hero', html: '<p class="mt-2">y</p>' }] },
});

/**
 * How fast this machine is right now: the best of three timings, in milliseconds, of a fixed
 * single-threaded workload (parsing the same JSON record 100 000 times). Lower is faster. A
 * shared VM's speed drifts (on the project's 2-vCPU VM this probe has read from under 250 to
 * over 800 ms within a day), so results record it at start and end, and only results with
 * similar probes compare.
 */
export function speedProbeMs(): number {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let index = 0; index < 100_000; index++) sink += JSON.parse(PROBE_RECORD).latency_ms;
    best = Math.min(best, performance.now() - started);
  }
  if (sink === 0) throw new Error('unreachable: the probe parsed nothing');
  return Math.round(best);
}

/**
 * Writes `<dir>/<name>-<yyyy-mm-dd>.json`, or `…-2.json`, `…-3.json` when the day already has
 * results (docs cite them by name), and returns its path.
 */
export function writeResult(dir: string, name: string, report: unknown): string {
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, `${name}-${new Date().toISOString().slice(0, 10)}`);
  for (let index = 1; ; index++) {
    const file = index === 1 ? `${stem}.json` : `${stem}-${index}.json`;
    try {
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`, { flag: 'wx' });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Progress goes to stderr, so stdout holds only the tables. */
export const log = (message: string) => process.stderr.write(`${message}\n`);
