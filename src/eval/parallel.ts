import { open } from 'node:fs/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { BUNDLED } from '../lib/package-root.ts';
import { EvalInputError } from './input-error.ts';
import { type AccumulatorState, MetricsAccumulator } from './metrics.ts';
import { scanRecords, variantMismatch } from './scan.ts';
import type { SchemaVariant } from './variants.ts';

/**
 * Parallel eval runs. A large input is cut at line boundaries into chunks (several per thread);
 * the main thread and `threads - 1` worker threads take the next chunk from a shared counter
 * until none is left, so a thread that starts late (a worker loads its own copy of the code)
 * simply takes fewer chunks. Every thread folds its samples into its own accumulator; the
 * accumulators are merged at the end, which gives exactly the metrics of one pass (they are
 * counts, sums and percentiles of the whole multiset).
 *
 * Line numbers in errors are those of the file: each chunk counts its lines, and once every
 * chunk is done the offsets are known. The error reported is the first one in file order, as in
 * a single pass: after a chunk fails, no thread starts a later chunk.
 */

export interface ParallelScanOptions {
  input: string;
  /** The file's size in bytes. */
  size: number;
  /** Threads in all, the main thread included (at least 2). */
  threads: number;
  /**
   * Chunks to cut the file into; default one per 4 MiB and at least 8 per thread, so the threads
   * finish within a small chunk's time of each other.
   */
  chunks?: number;
  variant: SchemaVariant | undefined;
  explicitVariant: boolean;
  /** Called now and then with the records judged so far by all threads. */
  onProgress?: (records: number) => void;
}

export interface ParallelScanResult {
  accumulator: MetricsAccumulator;
  variant: SchemaVariant | undefined;
}

/** What one chunk held; line numbers are counted from the chunk's first line. */
interface ChunkOutcome {
  index: number;
  lines: number;
  records: number;
  variant: SchemaVariant | undefined;
  /** The line of the chunk's first record. */
  firstRecordLine: number | undefined;
  error?: { line: number | undefined; field: string | undefined; problem: string };
}

/** The work a thread is given: the chunk boundaries and the two shared counters. */
interface ThreadData {
  input: string;
  boundaries: number[];
  variant: SchemaVariant | undefined;
  explicitVariant: boolean;
  /** [0]: the next chunk to take; [1]: the first chunk that failed (chunk count when none). */
  shared: Int32Array;
}

type ThreadMessage =
  | { kind: 'progress'; records: number }
  | { kind: 'done'; outcomes: ChunkOutcome[]; state: AccumulatorState }
  | { kind: 'failed'; message: string; stack: string | undefined };

/**
 * A worker thread's entry: the bundle's own when the CLI runs bundled (bin/load-cli.js), else
 * scan-thread.js, which registers tsx before loading the TypeScript entry.
 */
const SCAN_THREAD = new URL(BUNDLED ? './scan-thread.mjs' : './scan-thread.js', import.meta.url);

/** The default chunk size. */
const CHUNK_BYTES = 4 * 1024 * 1024;

const NEXT_CHUNK = 0;
const FIRST_FAILED = 1;
const PROGRESS_INTERVAL_MS = 100;

/**
 * Scans `options.input` on `options.threads` threads and returns the merged metrics. Throws the
 * {@link EvalInputError} a single pass would have thrown first.
 */
export async function scanInParallel(options: ParallelScanOptions): Promise<ParallelScanResult> {
  const chunkCount = Math.max(
    options.chunks ?? Math.max(options.threads * 8, Math.ceil(options.size / CHUNK_BYTES)),
    1,
  );
  const boundaries = await chunkBoundaries(options.input, options.size, chunkCount);
  const shared = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  shared[FIRST_FAILED] = boundaries.length - 1;
  const data: ThreadData = {
    input: options.input,
    boundaries,
    variant: options.variant,
    explicitVariant: options.explicitVariant,
    shared,
  };

  const progress = new Array<number>(options.threads).fill(0);
  const report = (thread: number, records: number) => {
    progress[thread] = records;
    options.onProgress?.(progress.reduce((sum, value) => sum + value, 0));
  };

  const accumulator = new MetricsAccumulator();
  const workers = Array.from({ length: options.threads - 1 }, (_, index) =>
    startWorker(data, (records) => report(index + 1, records)),
  );
  try {
    const outcomes = await scanChunks(data, accumulator, (records) => report(0, records));
    for (const result of await Promise.all(workers.map((worker) => worker.done))) {
      outcomes.push(...result.outcomes);
      accumulator.merge(result.state);
    }
    const variant = firstErrorInFileOrder(options, outcomes);
    return { accumulator, variant };
  } finally {
    for (const worker of workers) await worker.stop();
  }
}

/**
 * Walks the chunks in file order, turning chunk line numbers into file line numbers, and throws
 * the first error: a chunk's own error, or a chunk whose records are of another variant than the
 * run's (the first record of the file sets it unless it was given). Returns the run's variant.
 */
function firstErrorInFileOrder(
  options: ParallelScanOptions,
  outcomes: ChunkOutcome[],
): SchemaVariant | undefined {
  outcomes.sort((a, b) => a.index - b.index);
  let variant = options.variant;
  let offset = 0;
  for (const outcome of outcomes) {
    if (outcome.variant !== undefined && outcome.firstRecordLine !== undefined) {
      if (variant === undefined) variant = outcome.variant;
      else if (outcome.variant !== variant) {
        throw variantMismatch(
          options.input,
          offset + outcome.firstRecordLine,
          outcome.variant,
          variant,
          options.explicitVariant,
        );
      }
    }
    if (outcome.error) {
      const { line, field, problem } = outcome.error;
      throw new EvalInputError(
        options.input,
        line === undefined ? undefined : offset + line,
        field,
        problem,
      );
    }
    offset += outcome.lines;
  }
  return variant;
}

/** Takes chunks until none is left (or one before it failed), folding them into `accumulator`. */
async function scanChunks(
  data: ThreadData,
  accumulator: MetricsAccumulator,
  onProgress: (records: number) => void,
): Promise<ChunkOutcome[]> {
  const outcomes: ChunkOutcome[] = [];
  const chunkCount = data.boundaries.length - 1;
  let done = 0;
  let reportedAt = 0;
  for (;;) {
    const index = Atomics.add(data.shared, NEXT_CHUNK, 1);
    if (index >= chunkCount || index > Atomics.load(data.shared, FIRST_FAILED)) return outcomes;
    const outcome: ChunkOutcome = {
      index,
      lines: 0,
      records: 0,
      variant: undefined,
      firstRecordLine: undefined,
    };
    try {
      const result = await scanRecords({
        input: data.input,
        start: data.boundaries[index]!,
        end: data.boundaries[index + 1]!,
        variant: data.variant,
        explicitVariant: data.explicitVariant,
        onFirstRecord: (variant, line) => {
          outcome.variant = variant;
          outcome.firstRecordLine = line;
        },
        onSample: (sample) => accumulator.add(sample),
        onBatch: (records) => {
          const now = performance.now();
          if (now - reportedAt < PROGRESS_INTERVAL_MS) return;
          reportedAt = now;
          onProgress(done + records);
        },
      });
      outcome.lines = result.lines;
      outcome.records = result.records;
      done += result.records;
    } catch (error) {
      if (!(error instanceof EvalInputError)) throw error;
      outcome.error = { line: error.line, field: error.field, problem: error.problem };
      lowerFirstFailed(data.shared, index);
    }
    outcomes.push(outcome);
  }
}

function lowerFirstFailed(shared: Int32Array, index: number): void {
  for (;;) {
    const current = Atomics.load(shared, FIRST_FAILED);
    if (index >= current) return;
    if (Atomics.compareExchange(shared, FIRST_FAILED, current, index) === current) return;
  }
}

/**
 * Cuts the file into about `count` byte ranges that each begin at the start of a line: the
 * returned offsets go from 0 to `size`, each range being [offsets[i], offsets[i + 1]).
 */
export async function chunkBoundaries(
  path: string,
  size: number,
  count: number,
): Promise<number[]> {
  const boundaries = [0];
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let part = 1; part < count; part++) {
      let position = Math.max(Math.floor((size * part) / count), boundaries.at(-1)!);
      let next = size;
      while (position < size) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
        if (newline !== -1) {
          next = position + newline + 1;
          break;
        }
        position += bytesRead;
      }
      if (next >= size) break;
      if (next > boundaries.at(-1)!) boundaries.push(next);
    }
  } finally {
    await handle.close();
  }
  boundaries.push(size);
  return boundaries;
}

interface RunningWorker {
  done: Promise<{ outcomes: ChunkOutcome[]; state: AccumulatorState }>;
  stop: () => Promise<void>;
}

function startWorker(data: ThreadData, onProgress: (records: number) => void): RunningWorker {
  const worker = new Worker(SCAN_THREAD, { workerData: data });
  const done = new Promise<{ outcomes: ChunkOutcome[]; state: AccumulatorState }>(
    (resolve, reject) => {
      worker.on('message', (message: ThreadMessage) => {
        if (message.kind === 'progress') onProgress(message.records);
        else if (message.kind === 'done') resolve(message);
        else {
          const error = new Error(`eval worker thread failed: ${message.message}`);
          if (message.stack) error.stack = message.stack;
          reject(error);
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) =>
        reject(new Error(`eval worker thread exited with code ${code} before its result`)),
      );
    },
  );
  // A rejection is read through `done`; this keeps an early one from being reported as unhandled.
  done.catch(() => {});
  return {
    done,
    stop: async () => {
      await worker.terminate();
    },
  };
}

/** The worker thread's side: scan chunks, post the outcomes and the accumulator state. */
export async function runScanThread(): Promise<void> {
  if (isMainThread || parentPort === null) throw new Error('runScanThread runs in a worker thread');
  const port = parentPort;
  const data = workerData as ThreadData;
  try {
    const accumulator = new MetricsAccumulator();
    const outcomes = await scanChunks(data, accumulator, (records) =>
      port.postMessage({ kind: 'progress', records } satisfies ThreadMessage),
    );
    const state = accumulator.state();
    port.postMessage({ kind: 'done', outcomes, state } satisfies ThreadMessage, [
      state.latencies.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    port.postMessage({
      kind: 'failed',
      message: failure.message,
      stack: failure.stack,
    } satisfies ThreadMessage);
  }
}
