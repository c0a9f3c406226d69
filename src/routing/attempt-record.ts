import type { ProviderError } from '../providers/errors.ts';
import { elapsedMs } from './elapsed.ts';
import type { AttemptRecord, ProviderConfig } from './types.ts';

/** Where and when one provider call began: what its record is built from. */
export interface AttemptStart {
  attemptNo: number;
  config: ProviderConfig;
  /** `performance.now()` at the start, for latencies. */
  started: number;
  createdAt: Date;
}

/** Notes the start of attempt number `attemptNo` (1-based across the whole route). */
export function startAttempt({
  attemptNo,
  config,
}: {
  attemptNo: number;
  config: ProviderConfig;
}): AttemptStart {
  return { attemptNo, config, started: performance.now(), createdAt: new Date() };
}

/**
 * The record of a call that answered; `ttfbMs` when the answer is a stream's first chunk. Built
 * as one literal with every field in the same order as a failure's (no spread), so both kinds
 * share one object shape: this runs once per request on the gateway's hot path.
 */
export function succeededAttempt({
  start,
  ttfbMs = null,
}: {
  start: AttemptStart;
  ttfbMs?: number | null;
}): AttemptRecord {
  return {
    attemptNo: start.attemptNo,
    provider: start.config.provider,
    model: start.config.model,
    latencyMs: elapsedMs(start.started),
    createdAt: start.createdAt,
    status: 'succeeded',
    errorClass: null,
    httpStatus: 200,
    ttfbMs,
    retryAfterMs: null,
    error: null,
    costUsd: null,
  };
}

/** The record of a call that failed, with the provider's error as telemetry keeps it. */
export function failedAttempt({
  start,
  error,
}: {
  start: AttemptStart;
  error: ProviderError;
}): AttemptRecord {
  return {
    attemptNo: start.attemptNo,
    provider: start.config.provider,
    model: start.config.model,
    latencyMs: elapsedMs(start.started),
    createdAt: start.createdAt,
    status:
      error.errorClass === 'timeout'
        ? 'timeout'
        : error.errorClass === 'canceled'
          ? 'aborted'
          : 'failed',
    errorClass: error.errorClass,
    httpStatus: error.status ?? null,
    ttfbMs: null,
    retryAfterMs: error.retryAfterMs ?? null,
    error: error.toJSON(),
    costUsd: null,
  };
}
