import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db, Queryable } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { acquireLease, releaseLease } from '../../sql/leases.ts';
import { lockRollout } from '../lock.ts';
import { putBackProviderState, readProviderState } from '../provider-state.ts';
import { type CanaryDecision, decide } from './decide.ts';
import {
  type CanaryEvent,
  type CanaryLogAction,
  CONTROLLER_OPERATOR,
  checkRecord,
  logDecision,
} from './events.ts';
import type { CanaryNotifier } from './notify.ts';
import {
  applyRoutingChanges,
  type CanaryRun,
  type DueRun,
  insertCheck,
  isDue,
  measureWindow,
  selectDueRuns,
  selectRun,
  thresholdsOf,
  updateRun,
} from './sql.ts';
import { describeDrift, promotionChanges, stepChanges } from './weights.ts';

/** The lease the leading controller of a database holds. */
export const CANARY_LEASE = 'canary-controller';

export interface CanaryControllerOptions {
  db: Db;
  logger?: Logger | undefined;
  /** Who this controller is in the lease table (default: host, pid and a random suffix). */
  holder?: string;
  /** How often it renews its lease and looks for due checks. */
  tickMs?: number;
  /** How long a lease lasts unrenewed: a dead leader is replaced after at most this long. */
  leaseMs?: number;
  notifier?: CanaryNotifier | undefined;
  /** Called after each decision has committed (the dry run prints its timeline from it). */
  onDecision?: (event: CanaryEvent) => void;
}

/**
 * The canary controller: runs in every `genloop serve` process, and the one holding the
 * database's lease acts. About every second it renews the lease and checks each progressing
 * canary whose interval is up: measures the window since its step began, decides (see
 * `decide`), and applies the decision — weights, run row, check row and rollout log entry — in
 * one transaction that locks the run and checks again that it is still due, so two controllers
 * (a lease handed over mid-tick) never take the same step twice. All of its state is in the
 * database: a restarted or new leader resumes where the last one stopped.
 */
export class CanaryController {
  readonly holder: string;
  readonly #db: Db;
  readonly #logger: Logger | undefined;
  readonly #tickMs: number;
  readonly #leaseMs: number;
  readonly #notifier: CanaryNotifier | undefined;
  readonly #onDecision: ((event: CanaryEvent) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #running = false;
  #stopping = false;
  #leading = false;
  #failing = false;

  constructor(options: CanaryControllerOptions) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.holder =
      options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#tickMs = options.tickMs ?? 1_000;
    this.#leaseMs = options.leaseMs ?? 5_000;
    this.#notifier = options.notifier;
    this.#onDecision = options.onDecision;
  }

  /** True while this controller holds the lease (as of its last tick). */
  get leading(): boolean {
    return this.#leading;
  }

  /** Starts ticking; the first tick runs at once. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#schedule(0);
  }

  /**
   * Stops ticking, waits for a tick in progress, and releases the lease so another replica
   * takes over at once rather than after the lease runs out.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    if (this.#leading) {
      this.#leading = false;
      await releaseLease(this.#db, CANARY_LEASE, this.holder).catch((error: unknown) =>
        this.#logger?.warn({ err: error }, 'canary lease not released; it expires by itself'),
      );
    }
  }

  /** One round: renew or take the lease; when leading, check every due canary. */
  async tick(): Promise<void> {
    const leading = await acquireLease(this.#db, CANARY_LEASE, this.holder, this.#leaseMs);
    if (leading !== this.#leading) {
      this.#logger?.info(
        { holder: this.holder },
        leading ? 'canary controller leads' : 'canary controller follows',
      );
    }
    this.#leading = leading;
    if (!leading) return;
    for (const due of await selectDueRuns(this.#db)) {
      if (this.#stopping) return;
      const event = await this.check(due);
      if (event) this.#announce(event);
    }
  }

  #schedule(delay: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.tick()
        .then(
          () => {
            if (this.#failing) this.#logger?.info('canary controller reaches the database again');
            this.#failing = false;
          },
          (error: unknown) => {
            // Once per outage, not once a second.
            if (!this.#failing) this.#logger?.warn({ err: error }, 'canary controller tick failed');
            this.#failing = true;
            this.#leading = false;
          },
        )
        .finally(() => {
          this.#ticking = undefined;
          this.#schedule(this.#tickMs);
        });
    }, delay);
    this.#timer.unref();
  }

  #announce(event: CanaryEvent): void {
    try {
      this.#onDecision?.(event);
    } catch (error) {
      this.#logger?.warn({ err: error }, 'canary decision listener failed');
    }
  }

  /**
   * Checks one canary and applies what it decides, in one transaction; undefined when someone
   * else already did (the run is no longer at the step it was read at, or not due any more).
   */
  async check(due: DueRun): Promise<CanaryEvent | undefined> {
    const result = await this.#db.transaction(async (tx) => {
      await lockRollout(tx);
      const run = await selectRun(tx, due.id, { forUpdate: true });
      if (
        run?.state !== 'progressing' ||
        run.stepIndex !== due.stepIndex ||
        run.stepStartedAt.getTime() !== due.stepStartedAt.getTime() ||
        !(await isDue(tx, run.id))
      ) {
        return undefined;
      }
      const event = await this.#decideAndApply(tx, run);
      return { event, run };
    });
    if (!result) return undefined;
    const { event, run } = result;
    this.#logger?.info(
      {
        canary: run.id,
        environment: run.environment,
        provider: run.provider,
        decision: event.event,
        weight: event.weight,
      },
      event.reason,
    );
    this.#notifier?.send({ url: run.notifyUrl, secret: run.notifySecret }, event);
    return event;
  }

  async #decideAndApply(tx: Queryable, run: CanaryRun): Promise<CanaryEvent> {
    const startedAt = new Date();
    const weight = run.steps[run.stepIndex]!;
    const current = await readProviderState(tx, [run.environment], { forUpdate: true });
    const measurement = await measureWindow(tx, {
      environment: run.environment,
      candidate: run.provider,
      providers: run.baseline.map((row) => row.provider),
      from: run.stepStartedAt,
    });

    // Rows changed behind the canary's back (an operator's edit, a P0 rollback): it stops
    // moving weights it no longer owns, and waits for promote or abort.
    const drift = describeDrift(current, run.provider, weight);
    const decision: CanaryDecision = drift
      ? {
          verdict: 'inconclusive',
          action: 'halt',
          reason: `halted: the configs of ${run.environment} changed outside the canary (${drift}); promote or abort it`,
          guardrails: [],
          failedChecks: run.failedChecks,
          inconclusiveChecks: run.inconclusiveChecks,
          stepIndex: run.stepIndex,
        }
      : decide({
          thresholds: thresholdsOf(run),
          steps: run.steps,
          stepIndex: run.stepIndex,
          failedChecks: run.failedChecks,
          inconclusiveChecks: run.inconclusiveChecks,
          candidate: measurement.candidate,
          baseline: measurement.baseline,
        });

    let action: CanaryLogAction = 'canary_check';
    let replaced: typeof current | undefined;
    let state = run.state;
    switch (decision.action) {
      case 'step':
        await applyRoutingChanges(
          tx,
          run.environment,
          stepChanges(run.baseline, run.provider, run.steps[decision.stepIndex]!),
        );
        action = 'canary_step';
        break;
      case 'promote':
        await applyRoutingChanges(
          tx,
          run.environment,
          promotionChanges(run.baseline, run.provider),
        );
        action = 'canary_complete';
        state = 'promoted';
        break;
      case 'rollback':
        await putBackProviderState(tx, [run.environment], run.baseline, { allColumns: true });
        action = 'canary_rollback';
        state = 'rolled_back';
        replaced = current;
        break;
      case 'halt':
        action = 'canary_halt';
        state = 'halted';
        break;
      case 'hold':
        break;
    }
    const updated = await updateRun(tx, run.id, {
      state,
      stepIndex: decision.stepIndex,
      newStep: decision.action === 'step',
      failedChecks: decision.failedChecks,
      inconclusiveChecks: decision.inconclusiveChecks,
      reason: state === 'progressing' ? null : decision.reason,
    });
    const check = checkRecord(measurement, decision);
    const event = await logDecision(tx, {
      action,
      run: updated,
      reason: decision.reason,
      operator: CONTROLLER_OPERATOR,
      startedAt,
      check,
      ...(replaced ? { replaced } : {}),
    });
    await insertCheck(tx, {
      runId: run.id,
      stepIndex: run.stepIndex,
      weight,
      windowStart: measurement.windowStart,
      checkedAt: measurement.windowEnd,
      verdict: decision.verdict,
      decision: decision.action,
      candidate: measurement.candidate,
      baseline: measurement.baseline,
      guardrails: decision.guardrails,
      reason: decision.reason,
      logId: event.log_id,
    });
    return event;
  }
}
