/**
 * Offline eval benchmark: generates N eval records (default 1M, sitecraft, a share of them with
 * a generated site whose HTML is checked) and runs the real CLI process on them,
 * `node bin/genloop.js eval run --input … --gates … --report …`, several times. Reports wall time,
 * CPU time and peak RSS of that process, plus a start-up row (the same command on 100 records)
 * so throughput and start-up cost can be told apart.
 *
 *   npm run bench:eval -- [--records 1000000] [--output-share 0.1] [--sections 3] [--runs 3]
 *                         [--data-dir DIR] [--profile DIR] [--output bench/results]
 *
 * Targets: 1M records in <= 5 s wall and <= 256 MB peak RSS. They are reported,
 * never asserted; the load average at start and end says how busy the machine was. Prints a
 * table and writes bench/results/eval-<date>.json. The records file is cached in --data-dir
 * (default: the system temp folder) by its mix, so re-runs skip generation.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { ROOT } from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { type RecordMix, writeRecords } from './records.ts';

const TARGET_WALL_S = 5;
const TARGET_RSS_MB = 256;
const GATES = {
  schema_valid_rate_min: 0.9,
  safety_html_tailwind_compliance_min: 0.95,
  fallback_rate_max: 0.1,
  p95_latency_ms_max: 5000,
};

interface Measurement {
  exitCode: number;
  wallMs: number;
  /** User + system CPU of the CLI process. */
  cpuMs: number | null;
  peakRssMb: number | null;
  /** How peak RSS and CPU were measured. */
  source: 'gnu-time' | 'proc-poll';
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      'output-share': { type: 'string', default: '0.1' },
      sections: { type: 'string', default: '3' },
      'unsafe-share': { type: 'string', default: '0.02' },
      runs: { type: 'string', default: '3' },
      'data-dir': { type: 'string', default: join(os.tmpdir(), 'genloop-bench-eval') },
      profile: { type: 'string' },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  const number = (name: string, value: string, min: number, max: number) => {
    const parsed = Number(value.replaceAll('_', ''));
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new Error(`--${name} must be a number from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  };
  const mix: RecordMix = {
    records: Math.round(number('records', values.records, 1, 1e8)),
    outputShare: number('output-share', values['output-share'], 0, 1),
    sections: Math.round(number('sections', values.sections, 1, 50)),
    unsafeShare: number('unsafe-share', values['unsafe-share'], 0, 1),
  };
  return {
    mix,
    runs: Math.round(number('runs', values.runs, 1, 50)),
    dataDir: values['data-dir'],
    profile: values.profile,
    output: values.output,
  };
}

/** The records file for a mix, generated once and then reused. */
async function recordsFile(dataDir: string, mix: RecordMix) {
  mkdirSync(dataDir, { recursive: true });
  const path = join(
    dataDir,
    `records-${mix.records}-o${mix.outputShare}-s${mix.sections}-u${mix.unsafeShare}.jsonl`,
  );
  const meta = `${path}.meta.json`;
  if (existsSync(path) && existsSync(meta)) {
    return { path, ...(JSON.parse(readFileSync(meta, 'utf8')) as { outputBytes: number }) };
  }
  log(`generating ${mix.records.toLocaleString('en-US')} records into ${path} …`);
  const written = await writeRecords(path, mix);
  writeFileSync(meta, JSON.stringify(written));
  return { path, outputBytes: written.outputBytes };
}

/**
 * Runs the CLI once. Under GNU time (when installed) CPU and peak RSS come from the kernel's
 * accounting of the process; otherwise /proc/<pid>/status VmHWM is polled (a lower bound).
 */
function runCli(args: string[], nodeFlags: string[]): Promise<Measurement & { stderr: string }> {
  const gnuTime = existsSync('/usr/bin/time');
  const command = gnuTime ? '/usr/bin/time' : process.execPath;
  const argv = [
    ...(gnuTime ? ['-f', 'GENLOOP_BENCH_TIME %e %U %S %M', process.execPath] : []),
    ...nodeFlags,
    join(ROOT, 'bin/genloop.js'),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let polledKb = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const poll = gnuTime
      ? undefined
      : setInterval(() => {
          try {
            const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
            const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
            polledKb = Math.max(polledKb, kb);
          } catch {
            // exited between polls
          }
        }, 25);
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      if (poll) clearInterval(poll);
      const timed = /GENLOOP_BENCH_TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      resolve({
        exitCode: code ?? 1,
        wallMs,
        cpuMs: timed ? Math.round((Number(timed[2]) + Number(timed[3])) * 1000) : null,
        peakRssMb: timed
          ? Math.round(Number(timed[4]) / 1024)
          : polledKb > 0
            ? Math.round(polledKb / 1024)
            : null,
        source: gnuTime ? 'gnu-time' : 'proc-poll',
        stderr: stderr.replace(/GENLOOP_BENCH_TIME .*\n?/, ''),
      });
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main() {
  const options = parseOptions();
  const machineAtStart = machineInfo();
  const speedAtStart = speedProbeMs();
  const records = await recordsFile(options.dataDir, options.mix);
  const small = await recordsFile(options.dataDir, { ...options.mix, records: 100 });
  const inputBytes = statSync(records.path).size;
  const work = join(options.dataDir, `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const gatesPath = join(work, 'gates.json');
  writeFileSync(gatesPath, JSON.stringify(GATES));
  const evalArgs = (input: string, report: string) => [
    'eval',
    'run',
    '--input',
    input,
    '--gates',
    gatesPath,
    '--report',
    report,
    '--run-type',
    'bench',
  ];

  const rows: Record<string, unknown>[] = [];
  const runs: (Measurement & { run: string; records: number })[] = [];
  let report: { sample_count: number; metrics: Record<string, number | null> } | undefined;
  const startupReport = join(work, 'startup.json');
  for (let index = 0; index < options.runs; index++) {
    const startup = await runCli(
      [...evalArgs(small.path, startupReport), '--min-samples', '1'],
      [],
    );
    if (startup.exitCode !== 0 && startup.exitCode !== 2) {
      throw new Error(`eval run exited ${startup.exitCode}:\n${startup.stderr}`);
    }
    runs.push({ run: `start-up ${index + 1}`, records: 100, ...startup });
  }
  for (let index = 0; index < options.runs; index++) {
    const reportPath = join(work, `report-${index}.json`);
    const profileFlags =
      options.profile && index === 0 ? ['--cpu-prof', `--cpu-prof-dir=${options.profile}`] : [];
    log(`run ${index + 1}/${options.runs} …`);
    const measured = await runCli(evalArgs(records.path, reportPath), profileFlags);
    if (measured.exitCode !== 0 && measured.exitCode !== 2) {
      throw new Error(`eval run exited ${measured.exitCode}:\n${measured.stderr}`);
    }
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
    if (report!.sample_count !== options.mix.records) {
      throw new Error(
        `report has ${report!.sample_count} samples, expected ${options.mix.records}`,
      );
    }
    runs.push({
      run: `${label(options.mix.records)} run ${index + 1}`,
      records: options.mix.records,
      ...measured,
    });
  }

  for (const run of runs) {
    rows.push({
      run: run.run,
      records: run.records,
      'wall s': (run.wallMs / 1000).toFixed(2),
      'cpu s': run.cpuMs === null ? 'n/a' : (run.cpuMs / 1000).toFixed(2),
      'peak RSS MB': run.peakRssMb ?? 'n/a',
      'records/s': Math.round(run.records / (run.wallMs / 1000)).toLocaleString('en-US'),
      exit: run.exitCode,
    });
  }
  const full = runs.filter((run) => run.records === options.mix.records);
  const startups = runs.filter((run) => run.records === 100);
  const summary = {
    wallSMedian: median(full.map((run) => run.wallMs)) / 1000,
    cpuSMedian: full.every((run) => run.cpuMs !== null)
      ? median(full.map((run) => run.cpuMs!)) / 1000
      : null,
    peakRssMbMax: Math.max(...full.map((run) => run.peakRssMb ?? 0)) || null,
    startupWallSMedian: median(startups.map((run) => run.wallMs)) / 1000,
    startupCpuSMedian: startups.every((run) => run.cpuMs !== null)
      ? median(startups.map((run) => run.cpuMs!)) / 1000
      : null,
    startupPeakRssMbMax: Math.max(...startups.map((run) => run.peakRssMb ?? 0)) || null,
  };
  const targets = {
    wallS: TARGET_WALL_S,
    peakRssMb: TARGET_RSS_MB,
    meetsWall: summary.wallSMedian <= TARGET_WALL_S,
    meetsRss: summary.peakRssMbMax !== null && summary.peakRssMbMax <= TARGET_RSS_MB,
  };
  const machineAtEnd = machineInfo();
  const speedAtEnd = speedProbeMs();

  console.log(
    `genloop eval run on ${options.mix.records.toLocaleString('en-US')} records (${(inputBytes / 2 ** 20).toFixed(0)} MiB; ${options.mix.outputShare * 100}% with a ${options.mix.sections}-section site, mean output ${records.outputBytes} B)`,
  );
  console.log(
    `load average ${machineAtStart.loadAverage.join(' ')} at start, ${machineAtEnd.loadAverage.join(' ')} at end (${machineAtStart.cpus} CPUs); speed probe ${speedAtStart} ms at start, ${speedAtEnd} ms at end (lower is faster)`,
  );
  console.log();
  console.log(formatTable(rows));
  console.log();
  console.log(
    formatTable([
      {
        measure: 'wall s (median)',
        value: summary.wallSMedian.toFixed(2),
        target: `<= ${TARGET_WALL_S}`,
        meets: targets.meetsWall,
      },
      {
        measure: 'peak RSS MB (max)',
        value: summary.peakRssMbMax ?? 'n/a',
        target: `<= ${TARGET_RSS_MB}`,
        meets: targets.meetsRss,
      },
      {
        measure: 'start-up wall s (median, 100 records)',
        value: summary.startupWallSMedian.toFixed(2),
        target: '',
        meets: '',
      },
    ]),
  );

  const file = writeResult(options.output, 'eval', {
    benchmark: 'eval',
    command: 'node bin/genloop.js eval run --input <records> --gates <gates> --report <report>',
    measuredAt: new Date().toISOString(),
    machine: {
      ...machineAtStart,
      loadAverageAtEnd: machineAtEnd.loadAverage,
      speedProbeMs: { start: speedAtStart, end: speedAtEnd },
    },
    mix: { ...options.mix, inputBytes, meanOutputBytes: records.outputBytes },
    gates: GATES,
    runs: runs.map(({ run, records: count, exitCode, wallMs, cpuMs, peakRssMb, source }) => ({
      run,
      records: count,
      exitCode,
      wallMs: Math.round(wallMs),
      cpuMs,
      peakRssMb,
      source,
    })),
    summary,
    targets,
    report: report ? { sample_count: report.sample_count, metrics: report.metrics } : null,
  });
  log(`wrote ${file}`);
}

function label(records: number): string {
  return records >= 1e6 && records % 1e6 === 0
    ? `${records / 1e6}M`
    : records.toLocaleString('en-US');
}

await main();
