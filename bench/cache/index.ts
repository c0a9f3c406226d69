/**
 * Exact-cache benchmark: genloop's `/v1/chat/completions` against a zero-latency simulator, on
 * real Postgres, at one fixed rate, in four phases:
 *
 *   off         no `x-genloop-cache` header, a new request each time (no lookup)
 *   exact-miss  `x-genloop-cache: exact`, a new request each time (lookup, route, store)
 *   exact-hit   `x-genloop-cache: exact`, one request repeated (lookup, answer from Postgres)
 *   workload    `x-genloop-cache: exact`, a request repeats an earlier one with probability
 *               --repeat (default 0.3), else is new: the hit rate a repeating workload gets
 *
 * Reports p50/p99 latency, CPU per response of genloop and the simulator, genloop's own time
 * (server-timing `gateway`, without the provider) and what the lookup adds to it at p50 (miss
 * minus off), and the workload's hit rate. Prints a table, writes JSON under bench/results/.
 *
 *   npm run bench:cache -- [--rate 200] [--duration 10] [--repeat 0.3] [--warmup 3]
 *                          [--database-url URL] [--output bench/results]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import { createBenchDatabase, DEFAULT_DATABASE_URL, serverInfo } from '../lib/database.ts';
import { startGatewayOnSimulator } from '../lib/genloop.ts';
import { runLoad } from '../lib/load.ts';
import { cpuTimeMs, stopAll } from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { percentile, round } from '../lib/stats.ts';

const PHASES = ['off', 'exact-miss', 'exact-hit', 'workload'] as const;
type Phase = (typeof PHASES)[number];

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '10' },
      repeat: { type: 'string', default: '0.3' },
      warmup: { type: 'string', default: '3' },
      'database-url': { type: 'string' },
      database: { type: 'string', default: 'genloop_bench_cache' },
      output: { type: 'string', default: RESULTS_DIR },
    },
  });
  const number = (name: string, text: string, min: number, max: number) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`--${name} takes a number from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  return {
    rate: Math.round(number('rate', values.rate, 1, 100_000)),
    durationS: Math.round(number('duration', values.duration, 1, 3600)),
    repeat: number('repeat', values.repeat, 0, 1),
    warmupS: Math.round(number('warmup', values.warmup, 0, 600)),
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    database: values.database,
    output: values.output,
  };
}

/** A request like a short chat turn; `topic` makes it new or repeats an earlier one. */
function requestBody(topic: string): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: `Say one short sentence about ${topic}.` },
    ],
    temperature: 0.2,
    max_tokens: 64,
  });
}

interface PhaseTimings {
  gatewayMs: number[];
  lookupMs: number[];
  cache: Record<string, number>;
}

function collect(headers: string[], timings: PhaseTimings): void {
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index]!.toLowerCase();
    const value = headers[index + 1]!;
    if (name === 'server-timing') {
      const gateway = /gateway;dur=([\d.]+)/.exec(value)?.[1];
      if (gateway !== undefined) timings.gatewayMs.push(Number(gateway));
      const lookup = /cache;dur=([\d.]+)/.exec(value)?.[1];
      if (lookup !== undefined) timings.lookupMs.push(Number(lookup));
    } else if (name === 'x-genloop-cache') {
      timings.cache[value] = (timings.cache[value] ?? 0) + 1;
    }
  }
}

async function main(): Promise<void> {
  const speedAtStart = speedProbeMs();
  const options = parseOptions();
  log(
    `bench:cache: ${options.rate} req/s for ${options.durationS} s per phase, repeat ${options.repeat}`,
  );
  const database = await createBenchDatabase(options.serverUrl, options.database);
  try {
    const server = await serverInfo(database.db);
    // The default route only (openai, answered by the simulator): the cache is what varies.
    const { genloop, simulator, apiKey } = await startGatewayOnSimulator(database);
    log(`genloop at ${genloop.url}, simulator at ${simulator.url}`);
    const url = `${genloop.url}/v1/chat/completions`;
    const base = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
    const exact = { ...base, 'x-genloop-cache': 'exact' };
    const hitBody = requestBody('the one repeated topic');

    const smoke = async (headers: Record<string, string>, body: string, expected: string) => {
      const response = await fetch(url, { method: 'POST', headers, body });
      await response.arrayBuffer();
      const cache = response.headers.get('x-genloop-cache') ?? 'none';
      if (response.status !== 200 || cache !== expected) {
        throw new Error(
          `smoke: status ${response.status}, x-genloop-cache ${cache}; expected ${expected}`,
        );
      }
    };
    await smoke(exact, hitBody, 'miss');
    // The store runs after the answer: wait until the entry is there.
    for (let tries = 0; ; tries++) {
      const { rowCount } = await database.db.query('select 1 from public.ai_response_cache');
      if (rowCount > 0) break;
      if (tries > 100) throw new Error('smoke: the miss was never stored');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await smoke(exact, hitBody, 'hit');

    const seen: string[] = [];
    const bodyFor = (phase: Phase): (() => string) => {
      if (phase === 'exact-hit') return () => hitBody;
      if (phase === 'workload') {
        return () => {
          if (seen.length > 0 && Math.random() < options.repeat) {
            return requestBody(seen[Math.floor(Math.random() * seen.length)]!);
          }
          const topic = `topic ${randomUUID()}`;
          seen.push(topic);
          return requestBody(topic);
        };
      }
      return () => requestBody(`topic ${randomUUID()}`);
    };

    const run = async (phase: Phase, durationS: number) => {
      const timings: PhaseTimings = { gatewayMs: [], lookupMs: [], cache: {} };
      const next = bodyFor(phase);
      const cpuBefore = [
        cpuTimeMs(genloop.child.process.pid),
        cpuTimeMs(simulator.child.process.pid),
      ];
      const result = await runLoad({
        url,
        headers: phase === 'off' ? base : exact,
        requests: [{ setupRequest: (request) => ({ ...request, body: next() }) }],
        durationS,
        rate: options.rate,
        onOkHeaders: (headers) => collect(headers, timings),
      });
      const cpuAfter = [
        cpuTimeMs(genloop.child.process.pid),
        cpuTimeMs(simulator.child.process.pid),
      ];
      const perResponse = (index: number) => {
        const before = cpuBefore[index];
        const after = cpuAfter[index];
        return before === undefined || after === undefined || result.ok === 0
          ? null
          : round((after - before) / result.ok, 3);
      };
      timings.gatewayMs.sort((a, b) => a - b);
      timings.lookupMs.sort((a, b) => a - b);
      const hits = timings.cache.hit ?? 0;
      const looked = hits + (timings.cache.miss ?? 0);
      const row = {
        phase,
        ...result,
        cpuMsPerResponse: { genloop: perResponse(0), simulator: perResponse(1) },
        gatewayMs: {
          p50: round(percentile(timings.gatewayMs, 0.5, true), 3),
          p99: round(percentile(timings.gatewayMs, 0.99, true), 3),
        },
        lookupMs:
          timings.lookupMs.length === 0
            ? null
            : {
                p50: round(percentile(timings.lookupMs, 0.5, true), 3),
                p99: round(percentile(timings.lookupMs, 0.99, true), 3),
              },
        cacheHeaders: timings.cache,
        hitRate: looked === 0 ? null : round(hits / looked, 3),
      };
      log(
        `  ${phase.padEnd(10)} ${row.achievedRps} req/s  p50 ${row.latencyMs.p50} ms  p99 ${row.latencyMs.p99} ms  gateway p50 ${row.gatewayMs.p50} ms  cpu/response genloop ${row.cpuMsPerResponse.genloop} ms  non2xx ${row.non2xx}  errors ${row.errors}  cache ${JSON.stringify(timings.cache)}`,
      );
      // Let genloop flush its telemetry before the next phase.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return row;
    };

    if (options.warmupS > 0) {
      log('warm-up');
      await run('off', options.warmupS);
      await run('exact-miss', options.warmupS);
    }
    log('measuring');
    const rows = [];
    for (const phase of PHASES) rows.push(await run(phase, options.durationS));
    const byPhase = Object.fromEntries(rows.map((row) => [row.phase, row])) as Record<
      Phase,
      (typeof rows)[number]
    >;
    const lookupAddedP50Ms = round(
      byPhase['exact-miss'].gatewayMs.p50 - byPhase.off.gatewayMs.p50,
      3,
    );
    const lookupP50Ms = byPhase['exact-miss'].lookupMs?.p50 ?? null;
    const { rows: entries } = await database.db.query<{ n: number }>(
      'select count(*)::int as n from public.ai_response_cache',
    );

    process.stdout.write(
      `\nexact cache, ${options.rate} req/s, ${options.durationS} s per phase (p50/p99: as the client sees it; gateway: genloop's own time without the provider; lookup: the cache select)\n`,
    );
    process.stdout.write(
      `${formatTable(
        rows.map((row) => ({
          phase: row.phase,
          'req/s': row.achievedRps,
          'p50 ms': row.latencyMs.p50,
          'p99 ms': row.latencyMs.p99,
          'gateway p50 ms': row.gatewayMs.p50,
          'gateway p99 ms': row.gatewayMs.p99,
          'lookup p50 ms': row.lookupMs?.p50 ?? '',
          'lookup p99 ms': row.lookupMs?.p99 ?? '',
          'genloop cpu ms/resp': row.cpuMsPerResponse.genloop ?? '',
          'simulator cpu ms/resp': row.cpuMsPerResponse.simulator ?? '',
          'hit rate': row.hitRate ?? '',
          'non-2xx': row.non2xx,
        })),
      )}\n`,
    );
    process.stdout.write(
      `lookup p50 on a miss (server-timing cache): ${lookupP50Ms} ms; gateway time added p50 ` +
        `(exact-miss minus off): ${lookupAddedP50Ms} ms; ` +
        `workload hit rate ${byPhase.workload.hitRate} with ${options.repeat} of requests repeating; ` +
        `${entries[0]!.n} entries stored\n`,
    );
    const file = writeResult(options.output, 'cache', {
      benchmark: 'cache',
      at: new Date().toISOString(),
      machine: machineInfo(),
      speedProbeMs: { start: speedAtStart, end: speedProbeMs() },
      postgres: server,
      options: { ...options, serverUrl: undefined },
      lookupAddedP50Ms,
      lookupP50Ms,
      entries: entries[0]!.n,
      phases: rows,
    });
    log(`wrote ${file}`);
  } finally {
    await stopAll();
    await database.drop();
  }
}

main().catch(async (error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  await stopAll().catch(() => {});
  process.exit(1);
});
