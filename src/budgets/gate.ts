import type { Db, Queryable } from '../db/types.ts';
import { DomainError } from '../lib/domain-errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Price } from '../providers/prices.ts';
import { costOf, type PriceBook } from '../providers/pricing.ts';
import type { ProviderName } from '../providers/types.ts';
import type { AttemptRecord, ProviderConfig } from '../routing/types.ts';
import {
  BUDGET_CHANNEL,
  budgetsExist,
  extendReservation,
  finishReservation,
  type ReserveOutcome,
  reserveBudget,
  roundUsd,
} from '../sql/budgets.ts';

/** A model a call may be routed to, with the config row's own prices. */
export interface CandidateModel {
  provider: ProviderName;
  model: string | null | undefined;
  configPrices?: unknown;
}

/**
 * The models a call may be routed to among `configs` (only the `pinned` provider's, when the call
 * names one): each with the model the call would send it and that config's own prices.
 */
export function candidateModels(
  configs: readonly ProviderConfig[],
  modelFor: (config: ProviderConfig) => string | null | undefined,
  pinned?: ProviderName | null,
): CandidateModel[] {
  const candidates: CandidateModel[] = [];
  for (const config of configs) {
    if (pinned && config.provider !== pinned) continue;
    candidates.push({
      provider: config.provider,
      model: modelFor(config),
      configPrices: config.metadata.prices,
    });
  }
  return candidates;
}

/** What a call may cost at most, from which a reservation is made. */
export interface CallBound {
  userId: string | null;
  /** Unique per call: the key of its reservation and of its one settlement. */
  reservationId: string;
  /**
   * Everything sent to the provider as the prompt (messages, schema); a function when measuring
   * it costs something (serialising a request), called only when a budget may apply.
   */
  promptBytes: number | (() => number);
  /** The call's own output cap (`max_tokens`), if it sets one. */
  maxOutputTokens?: number | null | undefined;
  /** Completions asked for (`n`): each may reach the output cap. */
  choices?: number | null | undefined;
  /** The models the call may be routed to (read only when a budget may apply). */
  candidates: () => Promise<readonly CandidateModel[]> | readonly CandidateModel[];
}

/** A reservation in flight: end it exactly once with the call's real cost, or refund it. */
export interface Reservation {
  /** The output cap the reservation was made for: send it as the call's `max_tokens`. */
  maxOutputTokens: number;
  amountUsd: number;
  /** Ends the reservation from the attempts of the route (their costs, or a refund). */
  finish(attempts: readonly AttemptRecord[]): Promise<void>;
  /**
   * Before a further attempt: grows the reservation to cover it when earlier attempts were paid
   * for (see {@link BudgetGate.cover}). The router's `beforeAttempt`.
   */
  cover(attempts: readonly AttemptRecord[]): Promise<void>;
  settle(costUsd: number | null): Promise<void>;
  refund(): Promise<void>;
}

export interface BudgetGateOptions {
  db: Db;
  prices: PriceBook;
  logger: Logger;
  /** Output tokens reserved for a call that sets no cap of its own. */
  defaultMaxOutputTokens: number;
  /** The clock the period is read from (tests move it to a period's boundary). */
  now?: () => Date;
  /** How long "no budget is set anywhere" is believed without a notification. */
  ttlMs?: number;
}

/** Per-message framing tokens of the chat format, on top of the prompt's own. */
const MESSAGE_OVERHEAD_TOKENS = 16;

/**
 * Dollar budgets at the call sites that spend: {@link BudgetGate.reserve} before a provider
 * call, {@link Reservation.finish} after it. Costs nothing while no budget is set anywhere: that
 * fact is cached, and a change of a plan or a user's budget NOTIFYs every process to drop it.
 */
export class BudgetGate {
  private anyBudgets: { value: boolean; loadedAt: number } | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: BudgetGateOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    this.unlisten = await this.options.db.listen(BUDGET_CHANNEL, () => this.invalidate(), {
      onReconnect: () => this.invalidate(),
    });
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = undefined;
  }

  invalidate(): void {
    this.anyBudgets = undefined;
  }

  /**
   * The most a call can cost: prompt bytes (a token is at least one byte, so this bounds the
   * prompt's tokens from above) at the highest input price among the models it may be routed
   * to, plus its output cap at the highest output price. Models without a price are left out
   * unless none has one; then the most expensive known price stands in.
   */
  bound(
    call: Omit<CallBound, 'userId' | 'reservationId' | 'candidates'>,
    candidates: readonly CandidateModel[],
  ): { amountUsd: number; maxOutputTokens: number } {
    const maxOutputTokens = call.maxOutputTokens ?? this.options.defaultMaxOutputTokens;
    const price = this.highestPrice(candidates);
    const promptTokens =
      (typeof call.promptBytes === 'function' ? call.promptBytes() : call.promptBytes) +
      MESSAGE_OVERHEAD_TOKENS;
    const outputTokens = maxOutputTokens * Math.max(1, call.choices ?? 1);
    return { amountUsd: costOf(price, promptTokens, outputTokens), maxOutputTokens };
  }

  /**
   * Reserves the most the call can cost, or throws DomainError `budget_exceeded` (402, with
   * Retry-After to the reset) when the user's budget cannot cover it. Undefined when no budget
   * applies (anonymous calls, or no limit for this user).
   */
  async reserve(call: CallBound): Promise<Reservation | undefined> {
    const quote = await this.quote(call);
    if (!quote || !call.userId) return undefined;
    const now = this.now();
    const outcome = await reserveBudget(this.options.db, {
      userId: call.userId,
      reservationId: call.reservationId,
      amountUsd: quote.amountUsd,
      now,
    });
    if (!this.accepted(outcome, quote.amountUsd, now)) return undefined;
    return this.reservation(call.reservationId, quote.amountUsd, quote.maxOutputTokens);
  }

  /**
   * The reservation a call would need ({@link bound}), or undefined when no budget can apply:
   * an anonymous call, or no budget set anywhere (known from the cached flag, without a query).
   * A job quotes before its submission's transaction and reserves inside it with {@link reserveIn}.
   */
  async quote(
    call: Omit<CallBound, 'reservationId'>,
  ): Promise<{ amountUsd: number; maxOutputTokens: number } | undefined> {
    if (!call.userId || !(await this.budgetsMayApply())) return undefined;
    return this.bound(call, await call.candidates());
  }

  /**
   * Reserves a quoted amount inside the caller's transaction (a job's submission), so the
   * reservation commits or rolls back with the job. True when reserved, false when the user has
   * no limit; throws DomainError `budget_exceeded` when the budget cannot cover it.
   */
  async reserveIn(
    tx: Queryable,
    input: { userId: string; reservationId: string; amountUsd: number },
  ): Promise<boolean> {
    const now = this.now();
    const outcome = await reserveBudget(tx, { ...input, now });
    return this.accepted(outcome, input.amountUsd, now);
  }

  /**
   * Whether a budget may apply to this user's calls: false for anonymous calls and, without a
   * query, while no budget is set anywhere. A caller that prices its own reservation (an image
   * render) asks this before pricing, then reserves with {@link reserveIn}.
   */
  async mayApply(userId: string | null | undefined): Promise<boolean> {
    return Boolean(userId) && (await this.budgetsMayApply());
  }

  /**
   * Makes the reservation `reservationId` cover one more call after `attempts`: a reservation is
   * made for one call, and an attempt that got an answer was paid for even when the answer was
   * refused as invalid, so before each further attempt the reservation grows by one call's
   * amount per paid attempt. Throws DomainError `budget_exceeded` when the budget cannot cover
   * it (the route then stops, and what was paid is settled). Costs nothing while no attempt was
   * paid, which is every route that did not get an unusable answer.
   */
  async cover(reservationId: string, attempts: readonly AttemptRecord[]): Promise<void> {
    let paid = 0;
    for (const attempt of attempts) if (isPaid(attempt)) paid++;
    if (paid === 0) return;
    const outcome = await extendReservation(this.options.db, {
      reservationId,
      extensions: paid,
    });
    if (outcome.kind !== 'refused') return;
    const now = this.now();
    throw new DomainError('over_budget', 'budget_exceeded', 'budget exceeded', {
      detail: `after ${paid} paid answer(s) that could not be used, another attempt may cost up to $${outcome.amountUsd.toFixed(6)}, and $${roundUsd(outcome.committedUsd)} of the $${outcome.limitUsd} budget is spent or reserved; it resets at ${outcome.resetsAt.toISOString()}`,
      retryAfterMs: Math.max(1_000, outcome.resetsAt.getTime() - now.getTime()),
    });
  }

  /** True when reserved, false when unlimited; a refusal becomes the 402 the caller answers. */
  private accepted(outcome: ReserveOutcome, amountUsd: number, now: Date): boolean {
    if (outcome.kind === 'unlimited') return false;
    if (outcome.kind === 'refused') {
      const retryAfterMs = Math.max(1_000, outcome.resetsAt.getTime() - now.getTime());
      throw new DomainError('over_budget', 'budget_exceeded', 'budget exceeded', {
        detail: `this call may cost up to $${amountUsd.toFixed(6)}, and $${roundUsd(outcome.committedUsd)} of the $${outcome.limitUsd} budget is spent or reserved; it resets at ${outcome.resetsAt.toISOString()}`,
        retryAfterMs,
      });
    }
    return true;
  }

  private reservation(
    reservationId: string,
    amountUsd: number,
    maxOutputTokens: number,
  ): Reservation {
    const end = async (outcome: 'settle' | 'refund', costUsd: number | null) => {
      try {
        await finishReservation(this.options.db, { reservationId, outcome, costUsd });
      } catch (error) {
        // The reservation stays counted as spent: a budget errs on the side of the limit.
        this.options.logger.warn({ err: error, reservationId }, 'budget settlement failed');
      }
    };
    return {
      maxOutputTokens,
      amountUsd,
      settle: (costUsd) => end('settle', costUsd),
      refund: () => end('refund', null),
      cover: (attempts) => this.cover(reservationId, attempts),
      finish: (attempts) => {
        const spent = attemptsCost(attempts);
        return spent === 'nothing' ? end('refund', null) : end('settle', spent);
      },
    };
  }

  private async budgetsMayApply(): Promise<boolean> {
    const ttl = this.options.ttlMs ?? 30_000;
    if (this.anyBudgets && Date.now() - this.anyBudgets.loadedAt < ttl) {
      return this.anyBudgets.value;
    }
    const value = await budgetsExist(this.options.db);
    this.anyBudgets = { value, loadedAt: Date.now() };
    return value;
  }

  private highestPrice(candidates: readonly CandidateModel[]): Price {
    let found: Price | undefined;
    for (const candidate of candidates) {
      const price = this.options.prices.priceOf(candidate.model, candidate.configPrices);
      if (!price) continue;
      found = {
        input: Math.max(found?.input ?? 0, price.input),
        output: Math.max(found?.output ?? 0, price.output),
      };
    }
    return found ?? this.options.prices.highest();
  }
}

/**
 * What a route's attempts cost together: 'nothing' when no attempt got an answer (refund the
 * reservation), null when one did and its cost is unknown (the reservation stays spent).
 */
export function attemptsCost(attempts: readonly AttemptRecord[]): number | null | 'nothing' {
  let total = 0;
  let answered = false;
  for (const attempt of attempts) {
    if (!isPaid(attempt)) continue;
    answered = true;
    if (attempt.costUsd == null) return null;
    total += attempt.costUsd;
  }
  return answered ? roundUsd(total) : 'nothing';
}

/** An attempt that got an answer, usable or not: the provider charged for it. */
function isPaid(attempt: AttemptRecord): boolean {
  return attempt.status === 'succeeded' || attempt.errorClass === 'invalid_output';
}
