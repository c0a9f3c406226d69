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
 *                            [--lanes 50] [--warmup 5] [--budgets]
 *                            [--targets simulator,genloop,portkey,node-proxy,genloop-budget]
 *                            [--database-url URL] [--keep] [--output bench/results]
 *                            [--profile DIR]   (CPU profiles of the genloop process)
 *                            [--node-options='']  (genloop's Node flags; default: those
 *                            docs/deploy.md recommends, '' for Node's own)
 *
 * Every process is separate: the simulator (`genloop simulator`, zero latency), genloop
 * (`genloop serve --role api` on a fresh database genloop_bench_gateway, its openai and custom
 * providers pointed at that simulator through OPENAI_BASE_URL and CUSTOM_PROVIDER_BASE_URL),
 * Portkey (`build/start-server.js`), the node proxy, and this script driving autocannon. Times
 * are reported, never asserted. See docs/benchmarks.md.
 *
 * --budgets: what a dollar budget costs per gateway call. It adds the target genloop-budget
 * (right after genloop; also run when --targets names it): the same genloop process and URL,
 * but every request is made as one of 200 users (a user token signed with the JWT secret genloop
 * runs with, users taken in turn) and each of them has a budget of $1,000 per day, set before
 * measuring and never reached. So every call reserves the most it may cost before the provider
 * call and settles the real cost after it (two rows in public.budget_ledger; the smoke test
 * checks that a call really leaves its reserve and settle rows). The report then shows, per rate
 * and at saturation, "budget reservation per call": genloop-budget minus genloop in genloop's
 * CPU ms per response, in its Postgres backends' CPU ms per response and in p50/p99 latency
 * (JSON: summary.budgetCost). That difference also holds the cost of checking a user token
 * (a JWT signature, remembered per token for 10 s) instead of comparing an API key, and of the
 * user id on the telemetry row. Without --budgets (and genloop-budget not in --targets) no
 * budget is set and nothing else changes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { setBudget } from '../../src/budgets/admin.ts';
import { formatTable } from '../../src/cli/output.ts';
import {
  type BenchDatabase,
  createBenchDatabase,
  DEFAULT_DATABASE_URL,
  serverInfo,
} from '../lib/database.ts';
import { GATEWAY_REQUEST_BODY, RECOMMENDED_NODE_OPTIONS, userTokens } from '../lib/genloop.ts';
import { type LoadResult, runLoad } from '../lib/load.ts';
import { positiveInteger } from '../lib/options.ts';
import {
  type Child,
  cpuSpentMs,
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

/** What runs without --targets. */
const DEFAULT_TARGETS = ['simulator', 'genloop', 'portkey', 'node-proxy'] as const;
/** genloop-budget: genloop called as budgeted users (see --budgets in the header). */
const TARGETS = [...DEFAULT_TARGETS, 'genloop-budget'] as const;
type Target = (typeof TARGETS)[number];

/** The users genloop-budget's requests are made as, in turn, and the budget each one has. */
const BUDGET_USERS = 200;
const BUDGET_USD_PER_DAY = 1_000;

/** The one request every target gets, byte for byte. */
const REQUEST_BODY = GATEWAY_REQUEST_BODY;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '100,500,1000' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '64' },
      lanes: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '5' },
      targets: { type: 'string', default: DEFAULT_TARGETS.join(',') },
      budgets: { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      database: { type: 'string', default: 'genloop_bench_gateway' },
      keep: { type: 'boolean', default: false },
      output: { type: 'string', default: RESULTS_DIR },
      profile: { type: 'string' },
      // Node flags for the genloop process only; '' for Node's defaults.
      'node-options': { type: 'string', default: RECOMMENDED_NODE_OPTIONS },
    },
  });
  const positive = positiveInteger;
  const targets = values.targets.split(',').map((name) => name.trim());
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) {
      throw new Error(`--targets: "${target}" is not one of ${TARGETS.join(', ')}`);
    }
  }
  if (values.budgets && !targets.includes('genloop-budget')) {
    // Right after genloop, so the two run back to back under the same conditions.
    const genloop = targets.indexOf('genloop');
    targets.splice(genloop === -1 ? targets.length : genloop + 1, 0, 'genloop-budget');
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
  /** Bearer tokens taken in turn, one per request (instead of one authorization header). */
  tokens?: readonly string[];
}

/** Budgeted users: tokens genloop accepts, and the user id (`sub`) of each. */
interface BudgetUsers {
  tokens: string[];
  userIds: string[];
}

/**
 * `count` users with a user token each (signed with genloop's JWT secret) and a daily budget
 * far above what a run can spend: every call of theirs reserves and settles, none is refused.
 */
async function createBudgetUsers(
  database: BenchDatabase,
  jwtSecret: string,
  count: number,
): Promise<BudgetUsers> {
  const tokens = await userTokens(jwtSecret, count);
  const userIds = tokens.map((token) => decodeJwt(token).sub!.toLowerCase());
  for (const user of userIds) {
    await setBudget(database.db, { user, usd: BUDGET_USD_PER_DAY, period: 'day' });
  }
  return { tokens, userIds };
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
  jwtSecret: string,
  budgetTokens: readonly string[],
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
      GENLOOP_JWT_SECRET: jwtSecret,
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
      'genloop-budget': genloop.child,
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
      'genloop-budget': {
        url: `${genloopUrl}/v1/chat/completions`,
        headers: json,
        tokens: budgetTokens,
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

/**
 * One request per target before measuring: each must answer 200, genloop (and genloop-budget)
 * through its route; a budgeted call must leave its reservation and its settlement in the ledger.
 */
async function smokeTest(
  stack: Stack,
  targets: readonly Target[],
  database: BenchDatabase,
  budgetUsers: BudgetUsers | undefined,
): Promise<void> {
  for (const target of targets) {
    const endpoint = stack.endpoints[target];
    const token = endpoint.tokens?.[0];
    const response = await fetch(endpoint.url, {
      method: 'POST',
      headers: token ? { ...endpoint.headers, authorization: `Bearer ${token}` } : endpoint.headers,
      body: REQUEST_BODY,
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(`${target} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    if (target === 'genloop' || target === 'genloop-budget') {
      const strategy = response.headers.get('x-genloop-route-strategy');
      const selected = response.headers.get('x-genloop-selected-provider');
      if (strategy !== 'fallback' || selected !== 'openai') {
        throw new Error(`${target} routed ${strategy}/${selected}, expected fallback/openai`);
      }
    }
    if (target === 'genloop-budget') await checkLedger(database, budgetUsers!.userIds[0]!);
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

/**
 * The one call made as `userId` so far reserved before the provider call and settled after it
 * (genloop writes the settlement before it answers): the ledger holds its `reserve` row and its
 * `settle` row, for the same reservation. Otherwise genloop-budget would measure no budget work.
 */
async function checkLedger(database: BenchDatabase, userId: string): Promise<void> {
  const { rows } = await database.db.query<{
    reservation_id: string;
    kind: string;
    amount_usd: string;
    cost_usd: string | null;
  }>(
    `select reservation_id, kind, amount_usd, cost_usd from public.budget_ledger
      where user_id = $1 order by id`,
    [userId],
  );
  const reserve = rows.find((row) => row.kind === 'reserve');
  const settle = rows.find(
    (row) => row.kind === 'settle' && row.reservation_id === reserve?.reservation_id,
  );
  if (rows.length !== 2 || !reserve || !settle) {
    throw new Error(
      `genloop-budget: expected a reserve and a settle row for user ${userId} in public.budget_ledger, found ${JSON.stringify(rows)}`,
    );
  }
  log(
    `genloop-budget: call reserved $${Number(reserve.amount_usd)} and settled at $${settle.cost_usd === null ? 'unknown' : Number(settle.cost_usd)} (user ${userId})`,
  );
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
  // genloop verifies user tokens with this secret; genloop-budget's tokens are signed with it.
  const jwtSecret = randomBytes(32).toString('hex');
  const budgeted = options.targets.includes('genloop-budget');
  const requestIds: string[] = [];
  const results: PhaseResult[] = [];
  let telemetry: Awaited<ReturnType<typeof countTelemetry>> | undefined;
  let stack: Stack | undefined;
  let genloopExit: number | NodeJS.Signals | undefined;
  try {
    const server = await serverInfo(database.db);
    await configureRoute(database);
    // Budgets are set before genloop starts: from its first call it knows that budgets exist.
    const budgetUsers = budgeted
      ? await createBudgetUsers(database, jwtSecret, BUDGET_USERS)
      : undefined;
    if (budgetUsers) {
      log(
        `genloop-budget: ${budgetUsers.userIds.length} users with a budget of $${BUDGET_USD_PER_DAY} per day`,
      );
    }
    stack = await startStack(
      database,
      options.profileDir,
      options.nodeFlags,
      jwtSecret,
      budgetUsers?.tokens ?? [],
    );
    await smokeTest(stack, options.targets, database, budgetUsers);

    const run = async (
      target: Target,
      phase: string,
      rate: number | undefined,
      durationS: number,
      connections = options.connections,
    ) => {
      const endpoint = stack!.endpoints[target];
      const isGenloop = target === 'genloop' || target === 'genloop-budget';
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
        ...(endpoint.tokens ? { requests: tokenRequests(endpoint) } : {}),
        durationS,
        ...(rate === undefined ? { connections } : { rate, lanes: options.lanes }),
        ...(isGenloop
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
          : round(cpuSpentMs(postgresBefore, postgresAfter) / result.ok, 3);
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
        `  ${phase.padEnd(10)} ${target.padEnd(14)} ${String(result.achievedRps).padStart(6)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  non2xx ${result.non2xx}  errors ${result.errors}  cpu/response ${target === 'simulator' ? '' : `${target} ${cpuMsPerResponse[target]} ms, `}simulator ${cpuMsPerResponse.simulator} ms, postgres ${postgresCpuMsPerResponse} ms  load ${loadAverage.before}→${loadAverage.after}${serverTiming ? `  server-timing total p50 ${serverTiming.total.p50} / p99 ${serverTiming.total.p99} ms, provider p50 ${serverTiming.provider.p50} / p99 ${serverTiming.provider.p99} ms` : ''}`,
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
    if (options.targets.includes('genloop') || budgeted) {
      telemetry = await countTelemetry(database, requestIds);
    }

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
        budgets: budgeted,
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
        ...(budgeted
          ? {
              genloopBudget: {
                users: BUDGET_USERS,
                budgetUsdPerUser: BUDGET_USD_PER_DAY,
                period: 'day',
                auth: 'user tokens (HS256 JWT), one per user, taken in turn',
              },
            }
          : {}),
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

/**
 * autocannon requests that take `endpoint.tokens` in turn (shared by every connection and lane of
 * a phase), each as `Authorization: Bearer <token>` on the endpoint's headers and REQUEST_BODY.
 */
function tokenRequests(endpoint: TargetEndpoint) {
  const tokens = endpoint.tokens!;
  const path = new URL(endpoint.url).pathname;
  let next = 0;
  return [
    {
      method: 'POST' as const,
      path,
      body: REQUEST_BODY,
      setupRequest: (request: { headers?: Record<string, string> }) => {
        const token = tokens[next++ % tokens.length]!;
        return {
          ...request,
          headers: { ...endpoint.headers, authorization: `Bearer ${token}` },
        };
      },
    },
  ];
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
    return (['genloop', 'genloop-budget', 'portkey', 'node-proxy'] as const).flatMap((target) => {
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
  const minus = (a: number | null | undefined, b: number | null | undefined, digits = 3) =>
    a == null || b == null || Number.isNaN(a) || Number.isNaN(b) ? null : round(a - b, digits);
  const budgetCost = phases.flatMap((phase) => {
    const plain = find('genloop', phase);
    const budget = find('genloop-budget', phase);
    if (!plain || !budget) return [];
    return [
      {
        phase,
        cpuMsPerResponse: minus(
          budget.cpuMsPerResponse['genloop-budget'],
          plain.cpuMsPerResponse.genloop,
        ),
        postgresCpuMsPerResponse: minus(
          budget.postgresCpuMsPerResponse,
          plain.postgresCpuMsPerResponse,
        ),
        p50Ms: minus(budget.latencyMs.p50, plain.latencyMs.p50),
        p99Ms: minus(budget.latencyMs.p99, plain.latencyMs.p99),
      },
    ];
  });
  return {
    added,
    /**
     * What a budget costs per call, phase by phase: genloop-budget minus genloop (genloop's
     * process CPU per response, its Postgres backends' CPU per response, p50 and p99 latency).
     * Holds the reservation and settlement, and the user token checked instead of an API key.
     */
    budgetCost,
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
          result.target === 'genloop' || result.target === 'genloop-budget'
            ? (result.postgresCpuMsPerResponse ?? '')
            : '',
        load: result.loadAverage.after,
      })),
    ),
  );
  console.log();
  if (summary.budgetCost.length > 0) {
    console.log(
      'budget reservation per call (genloop-budget minus genloop; includes the JWT check)',
    );
    console.log(
      formatTable(
        summary.budgetCost.map((entry) => ({
          phase: entry.phase,
          genloop_cpu_ms_per_req: entry.cpuMsPerResponse ?? '',
          pg_cpu_ms_per_req: entry.postgresCpuMsPerResponse ?? '',
          p50_ms: entry.p50Ms ?? '',
          p99_ms: entry.p99Ms ?? '',
        })),
      ),
    );
    console.log();
  }
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
      {
        measure: targets.includes('genloop-budget')
          ? 'genloop + genloop-budget 2xx responses'
          : 'genloop 2xx responses',
        value: summary.telemetry.responses2xx,
        target: '',
      },
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
