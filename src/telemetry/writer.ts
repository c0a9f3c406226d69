import { DbError } from '../db/errors.ts';
import type { Db, Queryable } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { insertTelemetry } from '../sql/insert-telemetry.ts';
import { countGeneration } from './metrics.ts';
import type { GenerationTelemetry } from './rows.ts';

/**
 * Writes the rows of generations in one statement: atomically on its own (the TelemetryWriter's
 * batches), or inside the caller's transaction (jobs complete this way). Callers with other
 * writes in the same transaction make this the last of them: the training rows' trigger locks
 * shared rollup rows, which concurrent writers wait on until the commit.
 */
export async function writeTelemetry(
  db: Queryable,
  items: readonly GenerationTelemetry[],
): Promise<void> {
  await insertTelemetry(
    db,
    items.map((item) => item.example),
    items.flatMap((item) => item.attempts),
  );
}

export interface TelemetryWriterOptions {
  /**
   * How long rows wait for company before a write (default 100 ms). Longer means fewer, larger
   * transactions (at 500 generations/s, ~50 rows each) and less Postgres CPU per generation;
   * it is also the most a crash (not SIGTERM, which flushes) can lose.
   */
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Above this many buffered generations the oldest are dropped (and counted) rather than OOM. */
  maxBuffered?: number;
  logger?: Logger;
  metrics?: Metrics;
}

/**
 * Buffers telemetry of synchronous generations and writes it in batches, off the request path.
 * A failed flush keeps the rows and retries; a write failure never fails a generation. `close()`
 * flushes everything (graceful shutdown).
 */
export class TelemetryWriter {
  private buffer: GenerationTelemetry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  /**
   * How many rows at the front of the buffer the running drain still owes a write: those that
   * were buffered when a flush was asked for. Rows that arrive while it writes wait for the next
   * interval (unless a whole batch is waiting), so batches hold an interval's rows, not the few
   * that came in during one write.
   */
  private owed = 0;
  /** Rows given up on because the buffer overflowed while the database was unavailable. */
  dropped = 0;
  written = 0;

  constructor(
    private readonly db: Db,
    private readonly options: TelemetryWriterOptions = {},
  ) {}

  record(item: GenerationTelemetry): void {
    if (this.options.metrics) countGeneration(this.options.metrics, item);
    this.buffer.push(item);
    const max = this.options.maxBuffered ?? 50_000;
    if (this.buffer.length > max) {
      const excess = this.buffer.length - max;
      this.buffer.splice(0, excess);
      this.owed = Math.max(0, this.owed - excess);
      this.dropped += excess;
      this.options.logger?.error(
        { dropped: excess },
        'telemetry buffer full; dropped the oldest rows',
      );
    }
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush();
    else this.schedule();
  }

  /** Number of generations waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Writes everything buffered now; concurrent calls share one flush. */
  flush(): Promise<void> {
    this.owed = this.buffer.length;
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.buffer.length > 0 && !this.closed) this.schedule();
    });
    return this.flushing;
  }

  /** Flushes what is buffered (retrying a few times) and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (let round = 0; round < 5 && (this.buffer.length > 0 || this.flushing); round++) {
      await this.flush();
      if (this.buffer.length > 0)
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** round));
    }
    if (this.buffer.length > 0) {
      this.options.logger?.error(
        { lost: this.buffer.length },
        'telemetry could not be written before shutdown',
      );
    }
  }

  /**
   * A batch rejected for its data (by Postgres, or by serialisation) is written row by row; bad
   * rows are logged and dropped.
   */
  private async writeOneByOne(batch: GenerationTelemetry[]): Promise<void> {
    for (const item of batch) {
      try {
        await writeTelemetry(this.db, [item]);
        this.written++;
      } catch (error) {
        this.dropped++;
        this.options.logger?.error(
          { err: error, request_id: item.example.request_id },
          'telemetry row rejected',
        );
      }
    }
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const backoff = this.failures === 0 ? 0 : Math.min(5_000, 100 * 2 ** this.failures);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.flush();
      },
      (this.options.flushIntervalMs ?? 100) + backoff,
    );
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 500;
    while (
      this.buffer.length > 0 &&
      (this.owed > 0 || this.closed || this.buffer.length >= maxBatch)
    ) {
      const batch = this.buffer.slice(0, maxBatch);
      try {
        await writeTelemetry(this.db, batch);
        this.taken(batch.length);
        this.written += batch.length;
        this.failures = 0;
      } catch (error) {
        if (isDataError(error) || !(error instanceof DbError)) {
          // Rows Postgres rejects, or that cannot even be serialised: retrying the batch would
          // block every row behind it, so each is tried alone and only the bad ones are dropped.
          await this.writeOneByOne(batch);
          this.taken(batch.length);
          continue;
        }
        this.failures++;
        this.options.logger?.warn(
          { err: error, pending: this.buffer.length },
          'telemetry flush failed; will retry',
        );
        return;
      }
    }
  }

  /** The first `count` rows are written (or given up on): out of the buffer and off the debt. */
  private taken(count: number): void {
    this.buffer.splice(0, count);
    this.owed = Math.max(0, this.owed - count);
  }
}

/** Integrity (23xxx) and data (22xxx) errors: retrying the same rows cannot succeed. */
function isDataError(error: unknown): boolean {
  return error instanceof DbError && error.code !== undefined && /^2[23]/.test(error.code);
}
