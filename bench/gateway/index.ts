/**
 * Gateway benchmark: the same chat completion request, in one run on one
 * machine, sent (a) straight to the provider simulator, (b) through genloop's
 * `/v1/chat/completions` (fallback route openai → custom, telemetry on) and (c) through
 * @portkey-ai/gateway with the equivalent fallback config and (d) a bare Node proxy that only
 * relays bytes (bench/gateway/node-proxy.ts: the ceiling of any Node gateway on the machine);
 * at fixed rates and at saturation.
 * Reports p50/p99 latency, the latency (b) and (c) add over (a), throughput, errors, CPU time
 * per response of every process (and of genloop's Postgres backends), the load average, the
 * genloop/Portkey ratios, and checks after a graceful shutdown that every 2xx genloop answered
 * has its telemetry row.
 *
 *   npm run bench:gateway -- [--rates 100,500,1000] [--duration 10] [--connections 64]
 *                            [--lanes 50] [--warmup 5]
 *                            [--targets simulator,genloop,portkey,node-proxy]
 *                            [--database-url URL] [--keep] [--output bench/results]
 *                            [--profile DIR]   (CPU profiles of the genloop process)
 *                            [--node-options='--max-semi-space-size=64']  (genloop's Node flags)
 *
 * Every process is separate: the simulator (`genloop simulator`, zero latency), genloop
 * (`genloop serve --role api` on a fresh database genloop_bench_gateway, its openai and custom
 * providers pointed at that simulator through OPENAI_BASE_URL and CUSTOM_PROVIDER_BASE_URL),
 * Portkey (`build/start-server.js`), the node proxy, and this script driving autocannon. Times
 * are reported, never asserted. See docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/output.ts';
import {
  type BenchDatabase,
  createBenchDatabase,
  DEFAULT_DATABASE_URL,
  serverInfo,
} from '../lib/database.ts';
import { type LoadResult, runLoad } from '../lib/load.ts';
import { positiveInteger } from '../lib/options.ts';
import {
  type Child,
  cpuTimeMs,
  freePort,
  profileFlags,
  ROOT,
  startChild,
  stopAll,
  waitForHttp,
} from '../lib/processes.ts';
import { log, machineInfo, RESULTS_DIR, speedProbeMs, writeResult } from '../lib/report.ts';
import { percentile, round } from '../lib/stats.ts';

const TARGETS = ['simulator', 'genloop', 'portkey', 'node-proxy'] as const;
type Target = (typeof TARGETS)[number];

/** The one request every target gets, byte for byte. */
const REQUEST_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a concise assistant.' },
    { role: 'user', content: 'Say hello in one short sentence.' },
  ],
  temperature: 0.2,
  max_tokens: 64,
});

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '100,500,1000' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '64' },
      lanes: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '5' },
      targets: { type: 'string', default: TARGETS.join(',') },
      'database-url': { type: 'string' },
      database: { type: 'string', default: 'genloop_bench_gateway' },
      keep: { type: 'boolean', default: false },
      output: { type: 'string', default: RESULTS_DIR },
      profile: { type: 'string' },
      // Node flags for the genloop process only (e.g. --max-semi-space-size=64).
      'node-options': { type: 'string', default: '' },
    },
  });
  const positive = positiveInteger;
  const targets = values.targets.split(',').map((name) => name.trim());
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) {
      throw new Error(`--targets: "${target}" is not one of ${TARGETS.join(', ')}`);
    }
  }
  return {
    rates: values.rates.split(',').map((rate) => positive('rates', rate.trim())),
    durationS: positive('duration', values.duration),
    connections: positive('connections', values.connections),
    lanes: positive('lanes', values.lanes),
    warmupS: Number(values.warmup),
    targets: targets as Target[],
    serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    database: values.database,
    keep: values.keep,
    output: values.output,
    profileDir: values.profile,
    nodeFlags: values['node-options'].split(/\s+/).filter((flag) => flag !== ''),
  };
}

interface TargetEndpoint {
  url: string;
  headers: Record<string, string>;
}

interface Stack {
  simulatorUrl: string;
  genloop: Child;
  /** The process behind each target (for CPU accounting). */
  processes: Record<Target, Child>;
  endpoints: Record<Target, TargetEndpoint>;
  /** The Portkey config sent with every request, for the report. */
  portkeyConfig: Record<string, unknown>;
  providersLine: string;
}

async function startStack(
  database: BenchDatabase,
  profileDir: string | undefined,
  nodeFlags: readonly string[],
): Promise<Stack> {
  const node = process.execPath;
  const quiet = { ...process.env, GENLOOP_LOG_LEVEL: 'warn' };

  const simulator = await startChild({
    name: 'simulator',
    command: node,
    args: ['bin/genloop.js', 'simulator', '--host', '127.0.0.1', '--port', '0'],
    env: quiet,
    ready: /genloop simulator listening on (http:\/\/\S+)/,
  });
  const simulatorUrl = simulator.match[1]!;
  log(`simulator at ${simulatorUrl}`);

  // genloop calls the simulator as it would call the real APIs (keys set, base URLs overridden),
  // so all three targets end at the same simulator process.
  const apiKey = `bench-${randomBytes(24).toString('hex')}`;
  const genloop = await startChild({
    name: 'genloop',
    command: node,
    args: [
      ...profileFlags(profileDir),
      ...nodeFlags,
      'bin/genloop.js',
      'serve',
      '--role',
      'api',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    env: {
      ...quiet,
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      GENLOOP_JWT_SECRET: randomBytes(32).toString('hex'),
      GENLOOP_API_KEYS: apiKey,
      GENLOOP_SIMULATOR: 'off',
      OPENAI_API_KEY: 'sk-bench-simulator',
      OPENAI_BASE_URL: `${simulatorUrl}/openai/v1`,
      CUSTOM_PROVIDER_BASE_URL: `${simulatorUrl}/custom/v1`,
      CUSTOM_PROVIDER_API_KEY: 'sk-bench-simulator',
      OPENROUTER_API_KEY: '',
      REPLICATE_API_TOKEN: '',
    },
    ready: /genloop listening on (http:\/\/\S+)[\s\S]*?providers: ([^\n]+)\n/,
    timeoutMs: 60_000,
  });
  const genloopUrl = genloop.match[1]!;
  const providersLine = genloop.match[2]!;
  log(`genloop at ${genloopUrl} (providers: ${providersLine})`);

  const portkeyPort = await freePort();
  const portkey = await startChild({
    name: 'portkey',
    command: node,
    args: [
      join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js'),
      `--port=${portkeyPort}`,
      '--headless',
    ],
    // production: no log UI routes; the gateway itself behaves the same.
    env: { ...process.env, NODE_ENV: 'production' },
    ready: /Ready for connections/,
  });
  const portkeyUrl = `http://127.0.0.1:${portkeyPort}`;
  await waitForHttp(`${portkeyUrl}/`);
  log(`portkey at ${portkeyUrl}`);

  const simulatorChat = `${simulatorUrl}/openai/v1/chat/completions`;
  const nodeProxy = await startChild({
    name: 'node-proxy',
    command: node,
    args: ['--import', 'tsx', 'bench/gateway/node-proxy.ts', '--upstream', simulatorChat],
    env: { ...process.env, NODE_ENV: 'production' },
    ready: /node proxy listening on (http:\/\/\S+)/,
  });
  const nodeProxyUrl = nodeProxy.match[1]!;
  log(`node proxy at ${nodeProxyUrl}`);

  // genloop's route, in Portkey's terms: openai first (2 retries), then custom (1 retry), each
  // attempt bounded by the configured 30 s.
  const target = (path: string, attempts: number) => ({
    provider: 'openai',
    api_key: 'sk-bench-simulator',
    custom_host: `${simulatorUrl}${path}`,
    request_timeout: 30_000,
    retry: { attempts },
  });
  const portkeyConfig = {
    strategy: { mode: 'fallback' },
    targets: [target('/openai/v1', 2), target('/custom/v1', 1)],
  };
  const json = { 'content-type': 'application/json' };
  return {
    simulatorUrl,
    genloop: genloop.child,
    processes: {
      simulator: simulator.child,
      genloop: genloop.child,
      portkey: portkey.child,
      'node-proxy': nodeProxy.child,
    },
    providersLine,
    portkeyConfig,
    endpoints: {
      simulator: {
        url: simulatorChat,
        headers: { ...json, authorization: 'Bearer sk-bench-simulator' },
      },
      genloop: {
        url: `${genloopUrl}/v1/chat/completions`,
        headers: { ...json, authorization: `Bearer ${apiKey}` },
      },
      portkey: {
        url: `${portkeyUrl}/v1/chat/completions`,
        headers: { ...json, 'x-portkey-config': JSON.stringify(portkeyConfig) },
      },
      'node-proxy': {
        url: `${nodeProxyUrl}/v1/chat/completions`,
        headers: { ...json, authorization: 'Bearer sk-bench-simulator' },
      },
    },
  };
}

/** The two-provider fallback route: openai (default) then custom; nothing else enabled. */
async function configureRoute(database: BenchDatabase): Promise<void> {
  await database.db.query(
    `update public.ai_provider_configs
        set enabled = provider in ('openai', 'custom'),
            metadata = case when provider = 'openai'
                            then metadata || '{"route_strategy": "fallback"}'::jsonb
                            else metadata end
      where environment = 'prod'`,
  );
  const { rows } = await database.db.query<{ provider: string; is_default: boolean }>(
    `select provider, is_default from public.ai_provider_configs
      where environment = 'prod' and enabled order by is_default desc, weight desc`,
  );
  const route = rows.map((row) => row.provider).join(' → ');
  if (route !== 'openai → custom') throw new Error(`unexpected route ${route}`);
}

/** One request per target before measuring: each must answer 200, genloop through its route. */
async function smokeTest(stack: Stack, targets: readonly Target[]): Promise<void> {
  for (const target of targets) {
    const endpoint = stack.endpoints[target];
    const response = await fetch(endpoint.url, {
      method: 'POST',
      headers: endpoint.headers,
      body: REQUEST_BODY,
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(`${target} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    if (target === 'genloop') {
      const strategy = response.headers.get('x-genloop-route-strategy');
      const selected = response.headers.get('x-genloop-selected-provider');
      if (strategy !== 'fallback' || selected !== 'openai') {
        throw new Error(`genloop routed ${strategy}/${selected}, expected fallback/openai`);
      }
    }
  }
  // Portkey's fallback really falls back with this config shape (the fault header is forwarded
  // to the simulator only in this check).
  const forwarded = {
    ...stack.portkeyConfig,
    targets: (stack.portkeyConfig.targets as Record<string, unknown>[]).map((target) => ({
      ...target,
      retry: { attempts: 0 },
      forward_headers: ['x-genloop-simulate'],
    })),
  };
  const response = await fetch(stack.endpoints.portkey.url, {
    method: 'POST',
    headers: {
      ...stack.endpoints.portkey.headers,
      'x-portkey-config': JSON.stringify(forwarded),
      'x-genloop-simulate': 'openai=error:503',
    },
    body: REQUEST_BODY,
  });
  await response.arrayBuffer();
  const used = response.headers.get('x-portkey-last-used-option-index');
  if (response.status !== 200 || used !== 'config.targets[1]') {
    throw new Error(`Portkey did not fall back (status ${response.status}, used ${used})`);
  }
}

interface PhaseResult extends LoadResult {
  target: Target;
  phase: string;
  /** CPU time each process spent per 2xx response of the phase (ms; null without /proc). */
  cpuMsPerResponse: Record<Target, number | null>;
  /** CPU time the Postgres backends of genloop's database spent per 2xx response (ms). */
  postgresCpuMsPerResponse: number | null;
  /** 1-minute load average before and after the phase (the machine may be shared). */
  loadAverage: { before: number; after: number };
}

async function main(): Promise<void> {
  const speedAtStart = speedProbeMs();
  log(`speed probe ${speedAtStart} ms (lower is faster)`);
  const options = parseOptions();
  log(
    `bench:gateway: targets ${options.targets.join(', ')}, rates ${options.rates.join('/')} req/s, ${options.durationS} s each, saturation at ${options.connections} connections`,
  );
  const database = await createBenchDatabase(options.serverUrl, options.database);
  const requestIds: string[] = [];
  const results: PhaseResult[] = [];
  let telemetry: Awaited<ReturnType<typeof countTelemetry>> | undefined;
  let stack: Stack | undefined;
  let genloopExit: number | NodeJS.Signals | undefined;
  try {
    const server = await serverInfo(database.db);
    await configureRoute(database);
    stack = await startStack(database, options.profileDir, options.nodeFlags);
    await smokeTest(stack, options.targets);

    const run = async (
      target: Target,
      phase: string,
      rate: number | undefined,
      durationS: number,
      connections = options.connections,
    ) => {
      const endpoint = stack!.endpoints[target];
      const cpu = () =>
        Object.fromEntries(
          TARGETS.map((name) => [name, cpuTimeMs(stack!.processes[name].process.pid)]),
        ) as Record<Target, number | undefined>;
      const timings: ServerTiming[] = [];
      const cpuBefore = cpu();
      const postgresBefore = await postgresCpu(database);
      const loadBefore = os.loadavg()[0]!;
      const result = await runLoad({
        url: endpoint.url,
        headers: endpoint.headers,
        body: REQUEST_BODY,
        durationS,
        ...(rate === undefined ? { connections } : { rate, lanes: options.lanes }),
        ...(target === 'genloop'
          ? {
              onOkHeaders: (headers: string[]) =>
                collectGenloopHeaders(headers, requestIds, timings),
            }
          : {}),
      });
      const cpuAfter = cpu();
      const postgresAfter = await postgresCpu(database);
      const loadAverage = { before: round(loadBefore), after: round(os.loadavg()[0]!) };
      const postgresCpuMsPerResponse =
        postgresBefore === undefined || postgresAfter === undefined || result.ok === 0
          ? null
          : round(postgresCpuSpent(postgresBefore, postgresAfter) / result.ok, 3);
      const cpuMsPerResponse = Object.fromEntries(
        TARGETS.map((name) => {
          const before = cpuBefore[name];
          const after = cpuAfter[name];
          return [
            name,
            before === undefined || after === undefined || result.ok === 0
              ? null
              : round((after - before) / result.ok, 3),
          ];
        }),
      ) as Record<Target, number | null>;
      const serverTiming = summariseServerTiming(timings);
      log(
        `  ${phase.padEnd(10)} ${target.padEnd(10)} ${String(result.achievedRps).padStart(6)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  non2xx ${result.non2xx}  errors ${result.errors}  cpu/response ${target === 'simulator' ? '' : `${target} ${cpuMsPerResponse[target]} ms, `}simulator ${cpuMsPerResponse.simulator} ms, postgres ${postgresCpuMsPerResponse} ms  load ${loadAverage.before}→${loadAverage.after}${serverTiming ? `  server-timing total p50 ${serverTiming.total.p50} / p99 ${serverTiming.total.p99} ms, provider p50 ${serverTiming.provider.p50} / p99 ${serverTiming.provider.p99} ms` : ''}`,
      );
      // Let the target settle (genloop flushes its telemetry buffer) before the next phase.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return {
        target,
        phase,
        ...result,
        cpuMsPerResponse,
        postgresCpuMsPerResponse,
        loadAverage,
        serverTimingMs: serverTiming,
      };
    };

    if (options.warmupS > 0) {
      log(`warming up (${options.warmupS} s per target at 16 connections)`);
      for (const target of options.targets)
        await run(target, 'warmup', undefined, options.warmupS, 16);
    }
    for (const rate of options.rates) {
      log(`${rate} req/s`);
      for (const target of options.targets)
        results.push(await run(target, `${rate}/s`, rate, options.durationS));
    }
    log(`saturation (${options.connections} connections)`);
    for (const target of options.targets)
      results.push(await run(target, 'saturation', undefined, options.durationS));

    // Graceful stop: genloop flushes the telemetry it still buffers before it exits.
    log('stopping genloop with SIGTERM');
    genloopExit = await stack.genloop.stop(30_000);
    await stopAll();
    if (options.targets.includes('genloop')) telemetry = await countTelemetry(database, requestIds);

    const summary = summarise(results, options.targets, telemetry, genloopExit);
    printTables(results, summary, options.targets);
    const speedAtEnd = speedProbeMs();
    log(`speed probe ${speedAtEnd} ms at the end (lower is faster)`);
    const file = writeResult(options.output, 'gateway', {
      benchmark: 'gateway',
      createdAt: new Date().toISOString(),
      machine: { ...machineInfo(), speedProbeMs: { start: speedAtStart, end: speedAtEnd } },
      postgres: server,
      options: {
        rates: options.rates,
        durationS: options.durationS,
        saturationConnections: options.connections,
        lanes: options.lanes,
        warmupS: options.warmupS,
        targets: options.targets,
        nodeFlags: options.nodeFlags,
      },
      setup: {
        request: JSON.parse(REQUEST_BODY),
        simulator: 'genloop simulator, separate process, zero latency',
        genloop: {
          command: 'genloop serve --role api',
          route: 'fallback: openai (default, max_retries 2) → custom (max_retries 1), telemetry on',
          providers: stack.providersLine,
        },
        portkey: { version: portkeyVersion(), config: stack.portkeyConfig },
        nodeProxy:
          'bench/gateway/node-proxy.ts: node:http in, undici pool out, bytes relayed unchanged',
      },
      results,
      summary,
    });
    log(`wrote ${file}`);
  } finally {
    await stopAll();
    if (options.keep) log(`kept database ${database.name}`);
    else await database.drop();
  }
}

/** CPU time so far of each Postgres backend connected to the benchmark's database, by pid. */
async function postgresCpu(database: BenchDatabase): Promise<Map<number, number> | undefined> {
  const { rows } = await database.db.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  const times = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = cpuTimeMs(pid);
    if (ms === undefined) return undefined;
    times.set(pid, ms);
  }
  return times;
}

/** CPU spent between two samples (a backend that started in between counts from zero). */
function postgresCpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** genloop's own account of a response: its `server-timing` header, in ms. */
interface ServerTiming {
  /** From the request's arrival at the route to the response being built. */
  total: number;
  /** The provider call that answered (the last attempt), as the router timed it. */
  provider: number;
}

/** Keeps the request id (for the telemetry check) and the server timing of a genloop 2xx. */
function collectGenloopHeaders(
  headers: string[],
  requestIds: string[],
  timings: ServerTiming[],
): void {
  for (let index = 0; index < headers.length; index += 2) {
    const name = headers[index]!.toLowerCase();
    const value = headers[index + 1]!;
    if (name === 'x-request-id') requestIds.push(value);
    else if (name === 'server-timing') {
      const total = /total;dur=([\d.]+)/.exec(value)?.[1];
      const provider = /provider;dur=([\d.]+)/.exec(value)?.[1];
      if (total !== undefined && provider !== undefined) {
        timings.push({ total: Number(total), provider: Number(provider) });
      }
    }
  }
}

/**
 * p50/p99 of genloop's server timing over a phase: how much of the latency a client sees is
 * spent inside genloop's route (the rest is the HTTP hops and waiting to be scheduled).
 */
function summariseServerTiming(timings: readonly ServerTiming[]) {
  if (timings.length === 0) return null;
  const stats = (values: number[]) => {
    values.sort((a, b) => a - b);
    return {
      p50: round(percentile(values, 0.5, true)),
      p99: round(percentile(values, 0.99, true)),
    };
  };
  return {
    total: stats(timings.map((timing) => timing.total)),
    provider: stats(timings.map((timing) => timing.provider)),
  };
}

/**
 * Matches genloop's 2xx responses with its telemetry rows: `lost` counts responses without a
 * succeeded `gateway` row. Rows without a counted response are requests whose client went away
 * when a phase ended; they are reported as `extraRows`, not as a loss.
 */
async function countTelemetry(database: BenchDatabase, requestIds: readonly string[]) {
  const { rows: totals } = await database.db.query<{
    rows: number;
    succeeded: number;
    failed: number;
    duplicates: number;
  }>(
    `select count(*)::int as rows,
            count(*) filter (where status = 'succeeded')::int as succeeded,
            count(*) filter (where status = 'failed')::int as failed,
            (count(*) - count(distinct request_id))::int as duplicates
       from public.ai_training_examples where recipe = 'gateway'`,
  );
  let missing = 0;
  for (let offset = 0; offset < requestIds.length; offset += 50_000) {
    const { rows } = await database.db.query<{ missing: number }>(
      `select count(*)::int as missing
         from unnest($1::uuid[]) as response(id)
        where not exists (
          select 1 from public.ai_training_examples t
           where t.request_id = response.id and t.recipe = 'gateway' and t.status = 'succeeded')`,
      [requestIds.slice(offset, offset + 50_000)],
    );
    missing += rows[0]!.missing;
  }
  const total = totals[0]!;
  return {
    responses2xx: requestIds.length,
    rows: total.rows,
    succeededRows: total.succeeded,
    failedRows: total.failed,
    duplicateRequestIds: total.duplicates,
    lost: missing,
    extraRows: total.succeeded - (requestIds.length - missing),
  };
}

function summarise(
  results: readonly PhaseResult[],
  targets: readonly Target[],
  telemetry: Awaited<ReturnType<typeof countTelemetry>> | undefined,
  genloopExit: number | NodeJS.Signals | undefined,
) {
  const find = (target: Target, phase: string) =>
    results.find((result) => result.target === target && result.phase === phase);
  const phases = [...new Set(results.map((result) => result.phase))];
  const added = phases.flatMap((phase) => {
    const direct = find('simulator', phase);
    if (!direct) return [];
    return (['genloop', 'portkey', 'node-proxy'] as const).flatMap((target) => {
      const through = find(target, phase);
      if (!through) return [];
      return [
        {
          phase,
          target,
          addedP50Ms: round(through.latencyMs.p50 - direct.latencyMs.p50),
          addedP99Ms: round(through.latencyMs.p99 - direct.latencyMs.p99),
        },
      ];
    });
  });
  const maxThroughput = Object.fromEntries(
    targets.map((target) => [target, find(target, 'saturation')?.achievedRps ?? null]),
  );
  const addedAt = (target: Exclude<Target, 'simulator'>, phase: string) =>
    added.find((entry) => entry.target === target && entry.phase === phase);
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || b === 0 ? null : round(a / b, 2);
  const saturated = (target: Target) => find(target, 'saturation');
  const genloopCpu = saturated('genloop')?.cpuMsPerResponse.genloop ?? null;
  const genloopPostgresCpu = saturated('genloop')?.postgresCpuMsPerResponse ?? null;
  const portkeyCpu = saturated('portkey')?.cpuMsPerResponse.portkey ?? null;
  const genloop500 = addedAt('genloop', '500/s');
  const portkey500 = addedAt('portkey', '500/s');
  const cpuAt500 = (target: Target) => find(target, '500/s')?.cpuMsPerResponse[target] ?? null;
  return {
    added,
    maxThroughputRps: maxThroughput,
    /**
     * CPU per response at saturation: steadier than throughput on a shared machine, and what
     * bounds throughput once the gateway has the cores to itself.
     */
    cpuMsPerResponseAtSaturation: {
      genloop: genloopCpu,
      genloopPostgres: genloopPostgresCpu,
      portkey: portkeyCpu,
    },
    ratios: {
      /** Portkey's CPU per response / genloop's (genloop process only; above 1: genloop is cheaper). */
      cpuPortkeyOverGenloop: ratio(portkeyCpu, genloopCpu),
      /** The same with the Postgres work of genloop's telemetry added to genloop's side. */
      cpuPortkeyOverGenloopWithPostgres: ratio(
        portkeyCpu,
        genloopCpu === null || genloopPostgresCpu === null ? null : genloopCpu + genloopPostgresCpu,
      ),
      /** genloop's CPU per response / the bare Node proxy's at 500 req/s (target ≤ 2). */
      cpuGenloopOverNodeProxyAt500: ratio(cpuAt500('genloop'), cpuAt500('node-proxy')),
      /** genloop's max throughput / Portkey's (target ≥ 4). */
      throughputGenloopOverPortkey: ratio(maxThroughput.genloop, maxThroughput.portkey),
      /**
       * The bare Node proxy's max throughput / Portkey's: the most any Node gateway could reach
       * against Portkey here, with everything beyond relaying bytes free.
       */
      throughputNodeProxyOverPortkey: ratio(maxThroughput['node-proxy'], maxThroughput.portkey),
      /** genloop's max throughput / the bare Node proxy's: how much of that ceiling genloop keeps. */
      throughputGenloopOverNodeProxy: ratio(maxThroughput.genloop, maxThroughput['node-proxy']),
      /** Portkey's added latency / genloop's at 500 req/s (above 1: genloop adds less). */
      addedP50PortkeyOverGenloopAt500: ratio(portkey500?.addedP50Ms, genloop500?.addedP50Ms),
      addedP99PortkeyOverGenloopAt500: ratio(portkey500?.addedP99Ms, genloop500?.addedP99Ms),
    },
    targets: {
      addedP50At500Ms: { target: 0.5, genloop: genloop500?.addedP50Ms ?? null },
      addedP99At500Ms: { target: 5, genloop: genloop500?.addedP99Ms ?? null },
      throughputRatio: {
        target: 4,
        genloopOverPortkey: ratio(maxThroughput.genloop, maxThroughput.portkey),
      },
      throughputOverNodeProxy: {
        target: 0.5,
        genloopOverNodeProxy: ratio(maxThroughput.genloop, maxThroughput['node-proxy']),
      },
      cpuOverNodeProxyAt500: {
        target: 2,
        genloopOverNodeProxy: ratio(cpuAt500('genloop'), cpuAt500('node-proxy')),
      },
    },
    telemetry: telemetry ? { ...telemetry, genloopExit } : null,
  };
}

function printTables(
  results: readonly PhaseResult[],
  summary: ReturnType<typeof summarise>,
  targets: readonly Target[],
): void {
  const addedFor = (result: PhaseResult) =>
    summary.added.find((entry) => entry.target === result.target && entry.phase === result.phase);
  console.log(
    formatTable(
      results.map((result) => ({
        phase: result.phase,
        target: result.target,
        'req/s': result.achievedRps,
        p50_ms: result.latencyMs.p50,
        p99_ms: result.latencyMs.p99,
        added_p50_ms: addedFor(result)?.addedP50Ms ?? '',
        added_p99_ms: addedFor(result)?.addedP99Ms ?? '',
        '2xx': result.ok,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        cpu_ms_per_req: result.cpuMsPerResponse[result.target] ?? '',
        pg_cpu_ms_per_req:
          result.target === 'genloop' ? (result.postgresCpuMsPerResponse ?? '') : '',
        load: result.loadAverage.after,
      })),
    ),
  );
  console.log();
  const rows: Record<string, unknown>[] = targets.map((target) => ({
    measure: `max throughput ${target} (req/s)`,
    value: summary.maxThroughputRps[target],
    target: '',
  }));
  rows.push(
    {
      measure: 'genloop added p50 at 500 req/s (ms)',
      value: summary.targets.addedP50At500Ms.genloop,
      target: '<= 0.5',
    },
    {
      measure: 'genloop added p99 at 500 req/s (ms)',
      value: summary.targets.addedP99At500Ms.genloop,
      target: '<= 5',
    },
    {
      measure: 'throughput genloop / portkey',
      value: summary.ratios.throughputGenloopOverPortkey,
      target: '>= 4',
    },
    {
      measure: 'throughput node-proxy / portkey (ceiling of any node gateway)',
      value: summary.ratios.throughputNodeProxyOverPortkey,
      target: '',
    },
    {
      measure: 'throughput genloop / node-proxy',
      value: summary.ratios.throughputGenloopOverNodeProxy,
      target: '>= 0.5',
    },
    {
      measure: 'cpu per response at 500 req/s, genloop / node-proxy',
      value: summary.ratios.cpuGenloopOverNodeProxyAt500,
      target: '<= 2',
    },
    {
      measure: 'cpu per response at saturation, portkey / genloop',
      value: summary.ratios.cpuPortkeyOverGenloop,
      target: '',
    },
    {
      measure: 'the same, genloop + its postgres telemetry',
      value: summary.ratios.cpuPortkeyOverGenloopWithPostgres,
      target: '',
    },
    {
      measure: 'added p50 at 500 req/s, portkey / genloop',
      value: summary.ratios.addedP50PortkeyOverGenloopAt500,
      target: '',
    },
    {
      measure: 'added p99 at 500 req/s, portkey / genloop',
      value: summary.ratios.addedP99PortkeyOverGenloopAt500,
      target: '',
    },
  );
  if (summary.telemetry) {
    rows.push(
      { measure: 'genloop 2xx responses', value: summary.telemetry.responses2xx, target: '' },
      { measure: 'telemetry rows (succeeded)', value: summary.telemetry.succeededRows, target: '' },
      {
        measure: 'lost (responses without a row)',
        value: summary.telemetry.lost,
        target: '0',
      },
      {
        measure: 'extra rows (client left at phase end)',
        value: summary.telemetry.extraRows,
        target: '',
      },
      {
        measure: 'duplicate request ids',
        value: summary.telemetry.duplicateRequestIds,
        target: '0',
      },
    );
  }
  console.log(formatTable(rows));
}

function portkeyVersion(): string {
  const path = join(ROOT, 'node_modules/@portkey-ai/gateway/package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

main().catch(async (error) => {
  process.stderr.write(
    `bench:gateway failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  await stopAll(2_000);
  process.exitCode = 1;
});
