import autocannon, { type Client, type Options, type Result } from 'autocannon';
import { percentile, round } from './stats.ts';

/** What one load phase against one target measured. */
export interface LoadResult {
  /** Requests per second asked for; null at saturation. */
  requestedRate: number | null;
  connections: number;
  durationS: number;
  /** Completed responses (any status) per second over the phase. */
  achievedRps: number;
  responses: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts, as autocannon counts them. */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Latency of the 2xx responses in ms, from autocannon's per-response timer (µs resolution). */
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /**
   * autocannon's own p99 (whole ms; at a fixed rate it corrects for coordinated omission, so it
   * shows when a target fell behind the schedule).
   */
  autocannonP99Ms: number;
}

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Vary requests (e.g. one token per user); overrides `headers`/`body` per request. */
  requests?: Options['requests'];
  durationS: number;
  /** A fixed rate in requests per second; absent means saturation with `connections`. */
  rate?: number;
  /** Connections at saturation (default 64). */
  connections?: number;
  /**
   * At a fixed rate: how many autocannon instances share the rate, started evenly over one
   * second (default 50). autocannon spends each connection's per-second allowance in a burst at
   * the start of every second; staggered lanes turn that into a burst every 1000/lanes ms, much
   * closer to a steady arrival rate. `lanes: 1` is plain autocannon `overallRate`.
   */
  lanes?: number;
  /** Called with the headers of every 2xx response (e.g. to collect request ids). */
  onOkHeaders?: (headers: string[]) => void;
}

/**
 * Drives `url` with autocannon at a fixed rate or at saturation and measures latency per
 * response (the histogram autocannon keeps has 1 ms resolution; the added latency of a gateway
 * is often below that, so the raw response times are kept too).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples: number[] = [];
  const statusCodes: Record<string, number> = {};
  const setupClient = (client: Client) => {
    let okHeaders: string[] | undefined;
    if (options.onOkHeaders) {
      client.on('headers', (info) => {
        okHeaders = info.statusCode >= 200 && info.statusCode < 300 ? info.headers : undefined;
      });
    }
    client.on('response', (statusCode, _bytes, responseTimeMs) => {
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) {
        samples.push(responseTimeMs);
        if (okHeaders) options.onOkHeaders?.(okHeaders);
      }
      okHeaders = undefined;
    });
  };
  const base: Options = {
    url: options.url,
    method: options.method ?? 'POST',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.requests ? { requests: options.requests } : {}),
    duration: options.durationS,
    pipelining: 1,
    timeout: 30,
    setupClient,
  };

  let results: Result[];
  let connections: number;
  if (options.rate === undefined) {
    connections = options.connections ?? 64;
    results = [await autocannon({ ...base, connections })];
  } else {
    const lanes = Math.max(1, Math.min(options.lanes ?? 50, options.rate));
    connections = lanes;
    const runs: Promise<Result>[] = [];
    for (let lane = 0; lane < lanes; lane++) {
      // Spread the rate over the lanes (the first ones take the remainder).
      const laneRate = Math.floor(options.rate / lanes) + (lane < options.rate % lanes ? 1 : 0);
      runs.push(
        delay((lane * 1000) / lanes).then(() =>
          autocannon({ ...base, connections: 1, overallRate: laneRate }),
        ),
      );
    }
    results = await Promise.all(runs);
  }

  const sum = (pick: (result: Result) => number) =>
    results.reduce((total, result) => total + pick(result), 0);
  const responses = Object.values(statusCodes).reduce((total, count) => total + count, 0);
  const ok = samples.length;
  samples.sort((a, b) => a - b);
  return {
    requestedRate: options.rate ?? null,
    connections,
    durationS: options.durationS,
    achievedRps: round(responses / options.durationS, 0),
    responses,
    ok,
    non2xx: responses - ok,
    errors: sum((result) => result.errors),
    timeouts: sum((result) => result.timeouts),
    statusCodes,
    latencyMs: {
      p50: round(percentile(samples, 0.5, true)),
      p90: round(percentile(samples, 0.9, true)),
      p99: round(percentile(samples, 0.99, true)),
      max: round(samples.at(-1) ?? Number.NaN),
      mean: round(samples.reduce((total, value) => total + value, 0) / Math.max(1, ok)),
    },
    autocannonP99Ms: Math.max(...results.map((result) => result.latency.p99)),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
