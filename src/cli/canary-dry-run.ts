import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleGenloop } from '../app.ts';
import { resolveConfig } from '../config/resolve.ts';
import { migrate } from '../db/migrator.ts';
import { openDb } from '../db/open.ts';
import { createPgliteDb } from '../db/pglite-driver.ts';
import type { Db } from '../db/types.ts';
import { OperatorError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { CanaryController } from '../rollout/canary/controller.ts';
import { type CanaryEvent, summariseCanaryEntry } from '../rollout/canary/events.ts';
import { type CanarySettings, formatInterval } from '../rollout/canary/settings.ts';
import { type CanaryState, selectRun } from '../rollout/canary/sql.ts';
import { startCanary } from '../rollout/canary/start.ts';
import { readCanaryStatus } from '../rollout/canary/status.ts';
import { readLog } from '../rollout/log.ts';
import {
  type ProviderConfigState,
  putBackProviderState,
  readProviderState,
} from '../rollout/provider-state.ts';
import { FaultSyntaxError, parseFaultConfig } from '../simulator/faults.ts';
import { SIMULATE_HEADER, startSimulator } from '../simulator/index.ts';
import { renderStatus } from './canary.ts';
import type { CliContext } from './context.ts';
import { formatTable } from './output.ts';
import { signDevToken } from './token.ts';

/** Generated traffic: requests per second, and how many may be waiting at once. */
const REQUESTS_PER_SECOND = 100;
const MAX_IN_FLIGHT = 32;
/** The dry run's checks come at least this often apart. */
const MIN_DRY_INTERVAL_MS = 2_000;

export interface DryRunInput {
  environment: string;
  provider: string;
  settings: CanarySettings;
  operator: string;
  /** The simulator's fault syntax, each entry optionally `@<fraction>` of the requests. */
  faults?: string | undefined;
}

/** One `--faults` entry: the simulator's `<target>=<fault>`, sent on `fraction` of the requests. */
interface FaultEntry {
  header: string;
  fraction: number;
}

/**
 * `genloop canary start --dry-run`: the same controller, decisions and SQL as a real canary, on
 * an in-memory embedded database (migrated, with the environment's configs copied from the
 * configured database, else the seeded ones) and the simulator, with generate-site traffic sent
 * through genloop's own app at a steady rate and the faults asked for. The interval is shortened
 * so the whole run takes about a minute; the decisions are printed as they are taken. The
 * configured database is only read. Returns the state the canary ended in.
 */
export async function runDryRun(context: CliContext, input: DryRunInput): Promise<CanaryState> {
  const faults = parseFaults(input.faults);
  const copied = await readRealConfigs(context, input.environment);
  const dryInterval = dryIntervalMs(input.settings);
  const settings = { ...input.settings, intervalMs: dryInterval };
  const workDir = mkdtempSync(join(tmpdir(), 'genloop-canary-dry-run-'));
  const db = await createPgliteDb();
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    latency: { distribution: 'lognormal', p50Ms: 40, p99Ms: 160 },
  });
  let genloop: Awaited<ReturnType<typeof assembleGenloop>> | undefined;
  let controller: CanaryController | undefined;
  const traffic = new Traffic(faults);
  try {
    await migrate(db);
    if (copied.rows.length > 0) await replaceEnvironment(db, input.environment, copied.rows);
    const config = resolveConfig({
      cwd: workDir,
      env: {
        GENLOOP_SIMULATOR: 'on',
        GENLOOP_ENV: input.environment,
        GENLOOP_LOG_LEVEL: 'silent',
        GENLOOP_JWT_SECRET: randomBytes(32).toString('hex'),
        GENLOOP_CACHE_TTL_SECONDS: '0',
      },
    });
    genloop = await assembleGenloop(config, db, createLogger(config), {
      services: {
        simulatorUrl: simulator.url,
        telemetry: { flushIntervalMs: 50 },
        cooldown: { refreshMs: 250 },
      },
      interior: false,
    });
    const token = await signDevToken(config, { user: randomUUID(), expiresIn: '1h' });

    context.stdout(
      `dry run of a canary of ${input.provider} in ${input.environment}: an in-memory database, the simulator and generated traffic; nothing is changed in ${copied.source}\n` +
        `configs of ${input.environment}: ${copied.rows.length > 0 ? `copied from ${copied.source}` : `the seeded ones (${copied.why})`}\n` +
        `traffic: ${REQUESTS_PER_SECOND} generate-site requests/s${faults.length > 0 ? `, faults ${faults.map((fault) => `${fault.header} on ${Math.round(fault.fraction * 100)}%`).join(', ')}` : ', no faults'}\n` +
        `interval shortened from ${formatInterval(input.settings.intervalMs)} to ${formatInterval(dryInterval)} (${input.settings.minSamples} first tries at ${input.settings.steps[0]}% of ${REQUESTS_PER_SECOND}/s take ${formatSeconds(secondsForSamples(input.settings))}); steps, thresholds and decisions are the real ones\n\n`,
    );

    const started = await startCanary(db, { ...input, settings, notifyUrl: undefined });
    const began = Date.now();
    const print = (event: CanaryEvent, at = Date.now()) =>
      context.stdout(`${timelineLine(event, (at - began) / 1000)}\n`);
    print(started.event, began);
    controller = new CanaryController({ db, tickMs: 200, leaseMs: 2_000, onDecision: print });
    const app = genloop.app;
    traffic.start((headers) =>
      app.request('/functions/v1/generate-site', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...headers,
        },
        body: JSON.stringify({
          prompt: `A neighbourhood bakery, request ${traffic.sent}`,
          business_name: `Bakery ${traffic.sent}`,
        }),
      }),
    );
    controller.start();

    const deadline =
      began + dryInterval * settings.steps.length * (settings.maxFailedChecks + 2) + 30_000;
    let state: CanaryState = 'progressing';
    while (state === 'progressing') {
      if (Date.now() > deadline) {
        throw new OperatorError('the dry run did not finish in time; nothing was changed.');
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = (await selectRun(db, started.run.id))?.state ?? 'progressing';
    }
    await controller.stop();
    await traffic.stop();
    await genloop.services.telemetry.flush();

    const status = await readCanaryStatus(db, input.environment, { id: started.run.id });
    const log = await readLog(db, { environment: input.environment, limit: 100 });
    context.stdout(
      `\n$ genloop canary status --env ${input.environment}   (of the dry run)\n${renderStatus(status!)}\n\n` +
        `$ genloop rollout log --env ${input.environment}   (of the dry run)\n${formatTable(
          log.map((entry) => ({
            id: entry.id,
            action: entry.action,
            status: entry.status,
            operator: entry.operator,
            started_at: entry.startedAt,
            details: [summariseCanaryEntry(entry.verification), entry.notes]
              .filter(Boolean)
              .join(' | '),
          })),
        )}\n\n` +
        `traffic: ${traffic.sent} requests sent, ${traffic.failed} answered with an error; configs of ${input.environment} after the dry run:\n` +
        `${formatTable(
          (await readProviderState(db, [input.environment])).map((row) => ({
            provider: row.provider,
            enabled: row.enabled,
            is_default: row.is_default,
            weight: row.weight,
            route_strategy: row.metadata?.route_strategy ?? '',
          })),
        )}\n\n` +
        `dry run ended ${state}; nothing was changed in ${copied.source}\n`,
    );
    return state;
  } finally {
    await controller?.stop().catch(() => {});
    await traffic.stop().catch(() => {});
    await genloop?.close().catch(() => {});
    await simulator.close().catch(() => {});
    await db.close().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * A steady stream of requests: one every `1000 / REQUESTS_PER_SECOND` ms, each carrying the fault
 * entries drawn for it, never more than MAX_IN_FLIGHT waiting.
 */
class Traffic {
  sent = 0;
  failed = 0;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  // A fixed seed: the same --faults pick the same requests every run.
  #seed = 0x9e3779b9;

  constructor(private readonly faults: readonly FaultEntry[]) {}

  start(send: (headers: Record<string, string>) => Promise<Response> | Response): void {
    this.#timer = setInterval(() => {
      if (this.#inFlight.size >= MAX_IN_FLIGHT) return;
      const entries = this.faults.filter((fault) => this.#random() < fault.fraction);
      const headers: Record<string, string> =
        entries.length > 0
          ? { [SIMULATE_HEADER]: entries.map((entry) => entry.header).join(';') }
          : {};
      this.sent++;
      const request = Promise.resolve(send(headers))
        .then(async (response) => {
          if (!response.ok) this.failed++;
          await response.arrayBuffer();
        })
        .catch(() => {
          this.failed++;
        })
        .finally(() => this.#inFlight.delete(request));
      this.#inFlight.add(request);
    }, 1_000 / REQUESTS_PER_SECOND);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#inFlight);
  }

  /** mulberry32: small, seeded, good enough to spread faults over requests. */
  #random(): number {
    this.#seed = (this.#seed + 0x6d2b79f5) | 0;
    let t = this.#seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/**
 * `--faults`: the simulator's syntax (`<provider>[/<model>]=<fault>[,<fault>]`, entries split by
 * `;`), where an entry may end in `@<fraction>`: it is sent on that share of the requests (all of
 * them without it).
 */
export function parseFaults(spec: string | undefined): FaultEntry[] {
  if (spec === undefined) return [];
  const entries: FaultEntry[] = [];
  for (const raw of spec.split(';')) {
    const text = raw.trim();
    if (text === '') continue;
    const at = text.lastIndexOf('@');
    const header = at === -1 ? text : text.slice(0, at).trim();
    const fractionText = at === -1 ? '1' : text.slice(at + 1).trim();
    const fraction = /^(\d+(\.\d*)?|\.\d+)$/.test(fractionText) ? Number(fractionText) : Number.NaN;
    if (!(fraction > 0 && fraction <= 1)) {
      throw new OperatorError(
        `--faults "${text}": "@${fractionText}" is not a share of requests above 0 and at most 1 (e.g. custom=error:503@0.3).`,
      );
    }
    const equals = header.indexOf('=');
    try {
      if (equals === -1) throw new FaultSyntaxError(`"${header}" is not <provider>=<fault>`);
      parseFaultConfig({ [header.slice(0, equals)]: header.slice(equals + 1) });
    } catch (error) {
      if (!(error instanceof FaultSyntaxError)) throw error;
      throw new OperatorError(`--faults "${text}": ${error.message} (see docs/simulator.md).`);
    }
    entries.push({ header, fraction });
  }
  if (entries.length === 0)
    throw new OperatorError('--faults is empty; e.g. custom=error:503@0.3.');
  return entries;
}

/** Seconds of generated traffic the first step needs for its minimum of first tries. */
function secondsForSamples(settings: CanarySettings): number {
  return settings.minSamples / ((REQUESTS_PER_SECOND * settings.steps[0]!) / 100);
}

/**
 * The dry run's interval: half as long again as the first step needs to see its minimum of
 * first tries at the generated rate, so a healthy candidate is never starved into halting.
 */
export function dryIntervalMs(settings: CanarySettings): number {
  const needed = Math.ceil(secondsForSamples(settings) * 1.5) * 1_000;
  return Math.max(MIN_DRY_INTERVAL_MS, needed);
}

function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** One decision as a line of the timeline. */
function timelineLine(event: CanaryEvent, seconds: number): string {
  const stamp = `+${seconds.toFixed(1)}s`.padStart(7);
  const action = event.event.replace('canary_', '').padEnd(8);
  const where = `${String(event.weight).padStart(3)}% step ${event.step}/${event.steps.length}`;
  const check = event.check
    ? ` | ${event.provider}: ${side(event.check.candidate)} | baseline: ${side(event.check.baseline)}`
    : '';
  return `${stamp}  ${action} ${event.state.padEnd(11)} ${where}${check} | ${event.reason}`;
}

function side(stats: NonNullable<CanaryEvent['check']>['candidate']): string {
  const rate = (value: number | null) => (value === null ? '-' : value.toFixed(3));
  return `n=${stats.samples} fallback=${rate(stats.fallbackRate)} p95=${stats.p95LatencyMs === null ? '-' : `${Math.round(stats.p95LatencyMs)}ms`} schema_valid=${rate(stats.schemaValidRate)}`;
}

/** The environment's rows in the configured database, read only, or why there are none. */
async function readRealConfigs(
  context: CliContext,
  environment: string,
): Promise<{ rows: ProviderConfigState[]; source: string; why: string }> {
  const config = context.config();
  const source =
    config.mode === 'postgres'
      ? 'the configured database'
      : `the embedded database in ${config.dataDir}`;
  if (config.mode === 'embedded' && !existsSync(join(config.dataDir, 'pgdata'))) {
    return { rows: [], source, why: `no embedded database in ${config.dataDir} yet` };
  }
  let db: Db | undefined;
  try {
    db = await openDb(config, { applicationName: 'genloop canary dry run' });
    const rows = await readProviderState(db, [environment]);
    return {
      rows,
      source,
      why: rows.length === 0 ? `${environment} has no rows in ${source}` : '',
    };
  } catch (error) {
    // A database that cannot be read only costs the copy; the dry run needs nothing else from it.
    const reason = error instanceof Error ? error.message : String(error);
    return { rows: [], source, why: `could not read ${source}: ${reason}` };
  } finally {
    await db?.close().catch(() => {});
  }
}

/** Replaces the environment's seeded rows with the copied ones. */
async function replaceEnvironment(
  db: Db,
  environment: string,
  rows: ProviderConfigState[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('delete from public.ai_provider_configs where environment = $1', [environment]);
    await putBackProviderState(tx, [environment], rows, { allColumns: true });
  });
}
