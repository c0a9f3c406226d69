import { type BudgetGate, candidateModels } from '../../budgets/gate.ts';
import { asUser, type Claims } from '../../db/context.ts';
import type { Db, Queryable } from '../../db/types.ts';
import { type SubmitJobInput, submitJob } from '../../jobs/submit.ts';
import { DomainError, notFound } from '../../lib/domain-errors.ts';
import { newId } from '../../lib/uuid.ts';
import type { Router } from '../../routing/router.ts';
import { DEFAULT_MODEL, FLASHCARDS_MAX_OUTPUT_TOKENS, flashcardPromptBytes } from './handler.ts';
import type { CreateAIGenerationCommand } from './schema.ts';
import {
  generationVisible,
  insertCardOfSuggestion,
  lockSuggestion,
  markSuggestionAccepted,
  rejectSuggestion as rejectSuggestionRow,
  selectCardOfSuggestion,
  selectGeneration,
  selectGenerationsPage,
  selectSuggestionStatus,
  selectSuggestions,
  updateProposedSuggestion,
} from './sql.ts';

/**
 * The flashcard flow's use cases: accept a generation job, read the caller's jobs and their
 * suggestions, review suggestions, and turn an accepted one into a card exactly once. Every read
 * and edit runs as the caller, under row-level security; another user's object is not found.
 */

type Row = Record<string, unknown>;

export interface SubmitFlashcardsInput {
  claims: Claims;
  command: CreateAIGenerationCommand;
  requestId: string;
  idempotencyKey: string | undefined;
  /** The request's held Idempotency-Key and the answer it records with the job. */
  idempotency: SubmitJobInput['idempotency'];
  /** The simulator's fault header, kept with the job so the worker's calls carry it. */
  simulate: string | undefined;
  limits: { rate: { limit: number; windowMs: number }; monthlyQuota: number };
  /** Dollar budgets, and the router whose providers the job may be sent to; none: no limit. */
  budgets?: { gate: BudgetGate; router: Router } | undefined;
}

/**
 * Queues a flashcard job within the caller's rate limit, monthly quota and dollar budget
 * (SubmitRefused, or DomainError `budget_exceeded`, if not). With a budget the most the job can
 * cost is reserved in the submitting transaction; the worker settles it when the job ends.
 */
export async function submitFlashcards(db: Db, input: SubmitFlashcardsInput) {
  const budget = await flashcardBudget(input);
  return submitJob(db, {
    claims: input.claims,
    recipe: 'flashcards',
    row: {
      id: newId(),
      source_text: input.command.source_text,
      model: input.command.model ?? null,
      prompt_version: input.command.prompt_version ?? null,
      input: input.simulate ? { simulate: input.simulate } : {},
      request_id: input.requestId,
      idempotency_key: input.idempotencyKey ?? null,
    },
    rateLimit: input.limits.rate,
    monthlyQuota: input.limits.monthlyQuota,
    idempotency: input.idempotency,
    ...(budget ? { budget } : {}),
  });
}

/**
 * The job's reservation: its prompt at the highest input price and the recipe's output cap at
 * the highest output price among the providers the router may send it to. Undefined when no
 * budget can apply (no query is made then).
 */
async function flashcardBudget(
  input: SubmitFlashcardsInput,
): Promise<SubmitJobInput['budget'] | undefined> {
  const gate = input.budgets?.gate;
  const router = input.budgets?.router;
  if (!gate || !router) return undefined;
  const userId = input.claims.sub;
  const { command } = input;
  const quote = await gate.quote({
    userId,
    promptBytes: flashcardPromptBytes(command.source_text, command.prompt_version),
    maxOutputTokens: FLASHCARDS_MAX_OUTPUT_TOKENS,
    candidates: async () =>
      candidateModels(
        await router.servableConfigs(),
        (config) => command.model ?? config.model ?? DEFAULT_MODEL,
      ),
  });
  if (!quote) return undefined;
  return {
    reserve: (tx, jobId) =>
      gate.reserveIn(tx, { userId, reservationId: jobId, amountUsd: quote.amountUsd }),
    input: { max_output_tokens: quote.maxOutputTokens },
  };
}

/** One page of the caller's jobs and whether another follows (`limit + 1` rows are read). */
export async function listGenerations(
  db: Db,
  claims: Claims,
  page: { after: { createdAt: string; id: string } | undefined; limit: number },
): Promise<{ rows: (Row & { cursor_ts: string; id: string })[]; more: boolean }> {
  const rows = await asUser(db, claims, (tx) =>
    selectGenerationsPage(tx, { after: page.after, limit: page.limit + 1 }),
  );
  return { rows: rows.slice(0, page.limit), more: rows.length > page.limit };
}

export async function getGeneration(db: Db, claims: Claims, id: string): Promise<Row> {
  const row = await asUser(db, claims, (tx) => selectGeneration(tx, id));
  if (!row) throw notFound('generation');
  return row;
}

export async function listSuggestions(
  db: Db,
  claims: Claims,
  generationId: string,
  status: string | undefined,
): Promise<Row[]> {
  const rows = await asUser(db, claims, async (tx) =>
    (await generationVisible(tx, generationId))
      ? selectSuggestions(tx, generationId, status)
      : undefined,
  );
  if (!rows) throw notFound('generation');
  return rows;
}

export function editSuggestion(
  db: Db,
  claims: Claims,
  id: string,
  text: { front?: string | undefined; back?: string | undefined },
): Promise<Row> {
  return asUser(
    db,
    claims,
    async (tx) => (await updateProposedSuggestion(tx, id, text)) ?? notProposed(tx, id),
  );
}

/** Accepting twice answers the same card (`created` false the second time). */
export function acceptSuggestion(
  db: Db,
  claims: Claims,
  id: string,
): Promise<{ card: Row; created: boolean }> {
  return asUser(db, claims, async (tx) => {
    const suggestion = await lockSuggestion(tx, id);
    if (!suggestion) throw notFound('suggestion');
    if (suggestion.status === 'rejected') {
      throw new DomainError(
        'conflict',
        'suggestion_rejected',
        'the suggestion was rejected and cannot be accepted',
      );
    }
    if (suggestion.status === 'proposed') await markSuggestionAccepted(tx, id);
    const inserted = await insertCardOfSuggestion(tx, suggestion);
    if (inserted) return { card: inserted, created: true };
    // Row-level security lets only the owner put a card on their suggestion, so it is visible.
    const existing = await selectCardOfSuggestion(tx, id);
    if (!existing) throw notFound('suggestion');
    return { card: existing, created: false };
  });
}

export function rejectSuggestion(db: Db, claims: Claims, id: string): Promise<Row> {
  return asUser(
    db,
    claims,
    async (tx) => (await rejectSuggestionRow(tx, id)) ?? notProposed(tx, id),
  );
}

/** Why a suggestion could not be changed: not the caller's (404) or already reviewed (409). */
async function notProposed(tx: Queryable, id: string): Promise<never> {
  const status = await selectSuggestionStatus(tx, id);
  if (status === undefined) throw notFound('suggestion');
  throw new DomainError(
    'conflict',
    'suggestion_not_proposed',
    `the suggestion is already ${status}`,
  );
}
