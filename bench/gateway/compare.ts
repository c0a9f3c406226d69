/**
 * Gateway comparison of two commits, interleaved: genloop's `/v1/chat/completions` on this
 * checkout ("head", uncommitted changes included) and on `--base` (default `HEAD~1`, checked out
 * into a temporary git worktree), both running at once against one simulator, each on its own
 * fresh database migrated by its own code. The load alternates between them in short bursts
 * (base then head in odd rounds, head then base in even ones), and each burst reads the CPU time
 * its genloop spent from `/proc`.
 *
 * Why: on a shared machine one whole benchmark run moves by ±10–20% against the next, more than
 * most changes worth measuring. Bursts seconds apart share the machine's spell, so the ratio of
 * head to base inside each round is the figure to read; the report gives its median and range,
 * with each side's median CPU per response and throughput.
 *
 *   npm run bench:gateway:compare -- [--base HEAD~1] [--rounds 6] [--seconds 5]
 *                                    [--connections 32] [--rate N]
 *                                    [--database-url URL] [--output bench/results]
 *
 * `--rate N` loads each burst at N requests/s instead of saturating it with `--connections`.
 * Times are reported, never asserted. See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { type BenchDatabase, createBenchDatabase, DEFAULT_DATABASE_URL } from '../lib/database.ts';
import {
  GATEWAY_REQUEST_BODY,
  simulatorProviderEnv,
  startGenloop,
  startSimulator,
} from '../lib/genloop.ts';
import { runLoad } from '../lib/load.ts';
import { positiveInteger } from '../lib/options.ts';
import { cpuTimeMs, ROOT, stopAll } from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { round } from '../lib/stats.ts';

const SIDES = ['base', 'head'] as const;
type Side = (typeof SIDES)[number];

interface Burst {
  round: number;
  side: Side;
  rps: number;
  ok: number;
  non2xx: number;
  cpuMsPerResponse: number;
  p50Ms: number;
  p99Ms: number;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      base: { type: 'string', default: 'HEAD~1' },
      rounds: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '32' },
      rate: { type: 'string' },
      'database-url': { type: 'string', default: DEFAULT_DATABASE_URL },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  return {
    base: values.base,
    rounds: positiveInteger('--rounds', values.rounds),
    seconds: positiveInteger('--seconds', values.seconds),
    connections: positiveInteger('--connections', values.connections),
    rate: values.rate === undefined ? undefined : positiveInteger('--rate', values.rate),
    databaseUrl: values['database-url'],
    output: values.output,
  };
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

/** `--base` checked out into a temporary worktree that shares this checkout's node_modules. */
function checkOutBase(ref: string): { dir: string; commit: string; remove(): void } {
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = join(mkdtempSync(join(os.tmpdir(), 'genloop-compare-')), 'base');
  git('worktree', 'add', '--detach', dir, commit);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return {
    dir,
    commit,
    remove() {
      git('worktree', 'remove', '--force', dir);
      rmSync(join(dir, '..'), { recursive: true, force: true });
    },
  };
}

/** A fresh database migrated by the given checkout's own migrations. */
async function databaseFor(side: Side, dir: string, serverUrl: string): Promise<BenchDatabase> {
  const database = await createBenchDatabase(serverUrl, `genloop_bench_compare_${side}`, {
    migrate: false,
  });
  execFileSync(process.execPath, ['bin/genloop.js', 'db', 'migrate'], {
    cwd: dir,
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: 'ignore',
  });
  return database;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const base = checkOutBase(options.base);
  const head = {
    dir: ROOT,
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain') !== '',
  };
  const databases: BenchDatabase[] = [];
  const probeStart = speedProbeMs();
  try {
    const dirs: Record<Side, string> = { base: base.dir, head: head.dir };
    for (const side of SIDES)
      databases.push(await databaseFor(side, dirs[side], options.databaseUrl));
    const simulator = await startSimulator();
    const apiKey = `bench-${randomBytes(24).toString('hex')}`;
    const jwtSecret = randomBytes(32).toString('hex');
    const servers = {} as Record<Side, { url: string; pid: number | undefined }>;
    for (const [index, side] of SIDES.entries()) {
      const started = await startGenloop({
        name: `genloop-${side}`,
        role: 'api',
        cwd: dirs[side],
        env: {
          DATABASE_URL: databases[index]!.url,
          GENLOOP_JWT_SECRET: jwtSecret,
          GENLOOP_API_KEYS: apiKey,
          ...simulatorProviderEnv(simulator.url),
          OPENROUTER_API_KEY: '',
          REPLICATE_API_TOKEN: '',
        },
      });
      servers[side] = { url: started.url, pid: started.child.process.pid };
      log(
        `${side} (${side === 'base' ? base.commit.slice(0, 7) : head.commit.slice(0, 7)}) at ${started.url}`,
      );
    }

    const burst = async (side: Side, durationS: number) => {
      const before = cpuTimeMs(servers[side].pid);
      const result = await runLoad({
        url: `${servers[side].url}/v1/chat/completions`,
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: GATEWAY_REQUEST_BODY,
        durationS,
        ...(options.rate ? { rate: options.rate } : { connections: options.connections }),
      });
      const after = cpuTimeMs(servers[side].pid);
      const spent = before === undefined || after === undefined ? Number.NaN : after - before;
      return { result, cpuMsPerResponse: spent / Math.max(1, result.ok) };
    };

    log('warming up (3 s each)');
    for (const side of SIDES) await burst(side, 3);
    const bursts: Burst[] = [];
    for (let roundNo = 1; roundNo <= options.rounds; roundNo++) {
      const order: readonly Side[] = roundNo % 2 === 1 ? SIDES : ['head', 'base'];
      for (const side of order) {
        const { result, cpuMsPerResponse } = await burst(side, options.seconds);
        const entry: Burst = {
          round: roundNo,
          side,
          rps: result.achievedRps,
          ok: result.ok,
          non2xx: result.non2xx + result.errors,
          cpuMsPerResponse: round(cpuMsPerResponse, 3),
          p50Ms: result.latencyMs.p50,
          p99Ms: result.latencyMs.p99,
        };
        bursts.push(entry);
        log(
          `  round ${roundNo} ${side}: ${entry.rps} req/s, ${entry.cpuMsPerResponse} ms CPU/response, p50 ${entry.p50Ms} ms, non-2xx ${entry.non2xx}`,
        );
      }
    }

    const of = (side: Side) => bursts.filter((entry) => entry.side === side);
    const ratios = Array.from({ length: options.rounds }, (_, index) => {
      const pick = (side: Side) => of(side)[index]!;
      return {
        cpu: pick('head').cpuMsPerResponse / pick('base').cpuMsPerResponse,
        rps: pick('head').rps / pick('base').rps,
      };
    });
    const summary = {
      base: {
        commit: base.commit,
        cpuMsPerResponseMedian: round(median(of('base').map((entry) => entry.cpuMsPerResponse)), 3),
        rpsMedian: round(median(of('base').map((entry) => entry.rps)), 0),
      },
      head: {
        commit: head.commit,
        uncommittedChanges: head.dirty,
        cpuMsPerResponseMedian: round(median(of('head').map((entry) => entry.cpuMsPerResponse)), 3),
        rpsMedian: round(median(of('head').map((entry) => entry.rps)), 0),
      },
      headOverBase: {
        cpuPerResponse: {
          median: round(median(ratios.map((ratio) => ratio.cpu)), 3),
          min: round(Math.min(...ratios.map((ratio) => ratio.cpu)), 3),
          max: round(Math.max(...ratios.map((ratio) => ratio.cpu)), 3),
        },
        throughput: {
          median: round(median(ratios.map((ratio) => ratio.rps)), 3),
          min: round(Math.min(...ratios.map((ratio) => ratio.rps)), 3),
          max: round(Math.max(...ratios.map((ratio) => ratio.rps)), 3),
        },
      },
    };
    const probeEnd = speedProbeMs();
    const file = writeResult(options.output, 'gateway-compare', {
      benchmark: 'gateway-compare',
      createdAt: new Date().toISOString(),
      machine: { ...machineInfo(), speedProbeMs: { start: probeStart, end: probeEnd } },
      options: { ...options, output: undefined },
      bursts,
      summary,
    });

    console.log(formatTable(bursts as unknown as Record<string, unknown>[]));
    console.log();
    console.log(
      formatTable([
        {
          measure: 'CPU ms/response, median (base → head)',
          value: `${summary.base.cpuMsPerResponseMedian} → ${summary.head.cpuMsPerResponseMedian}`,
        },
        {
          measure: 'req/s, median (base → head)',
          value: `${summary.base.rpsMedian} → ${summary.head.rpsMedian}`,
        },
        {
          measure: 'head ÷ base, CPU per response, per round: median (min–max)',
          value: `${summary.headOverBase.cpuPerResponse.median} (${summary.headOverBase.cpuPerResponse.min}–${summary.headOverBase.cpuPerResponse.max})`,
        },
        {
          measure: 'head ÷ base, req/s, per round: median (min–max)',
          value: `${summary.headOverBase.throughput.median} (${summary.headOverBase.throughput.min}–${summary.headOverBase.throughput.max})`,
        },
        { measure: 'speed probe ms (start → end)', value: `${probeStart} → ${probeEnd}` },
      ]),
    );
    log(`wrote ${file}`);
  } finally {
    await stopAll(10_000);
    for (const database of databases) await database.drop().catch(() => {});
    base.remove();
  }
}

main().catch(async (error) => {
  process.stderr.write(
    `bench:gateway:compare failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  await stopAll(2_000);
  process.exitCode = 1;
});
