import { AttemptTimeout, ProviderError, toProviderError } from '../providers/errors.ts';
import type { ChatCompletionChunk } from '../providers/types.ts';
import { elapsedMs } from './elapsed.ts';
import type { AttemptRecord, ProviderConfig } from './types.ts';

export interface IdleBoundedOptions {
  /** The first chunk, already received while the route could still fall back. */
  first: IteratorResult<ChatCompletionChunk>;
  /** The rest of the provider's stream. */
  iterator: AsyncIterator<ChatCompletionChunk>;
  /** The provider's config; its `timeout_ms` bounds the wait for each chunk. */
  config: ProviderConfig;
  /** The attempt's record, updated to say how the stream ended. */
  record: AttemptRecord;
  /** `performance.now()` at the start of the attempt. */
  started: number;
  /** Aborts the provider call when the stream stalls. */
  abort(reason: unknown): void;
}

/**
 * Yields the first chunk, then the rest, each within `timeout_ms` of the previous one. The client
 * already has bytes, so nothing here falls back: a stall aborts the provider call and throws a
 * `timeout` ProviderError, a break throws a `stream_cut` one, and the record says which.
 */
export async function* idleBounded({
  first,
  iterator,
  config,
  record,
  started,
  abort,
}: IdleBoundedOptions): AsyncGenerator<ChatCompletionChunk> {
  if (first.done) return;
  yield first.value;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            abort(new AttemptTimeout(config.timeoutMs));
            reject(
              new ProviderError({
                provider: config.provider,
                message: `stream stalled for ${config.timeoutMs} ms`,
                errorClass: 'timeout',
                retryable: false,
              }),
            );
          }, config.timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if (next.done) break;
      yield next.value;
    }
    record.latencyMs = elapsedMs(started);
  } catch (error) {
    const failure = toProviderError(config.provider, error, false);
    record.status = failure.errorClass === 'timeout' ? 'timeout' : 'failed';
    record.errorClass = failure.errorClass === 'timeout' ? 'timeout' : 'stream_cut';
    record.error = failure.toJSON();
    record.latencyMs = elapsedMs(started);
    throw failure;
  }
}
