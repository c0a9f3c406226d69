import type { Queryable } from '../../db/types.ts';
import { JOB_VIEW_COLUMNS } from '../../jobs/cancel.ts';

/**
 * The flashcard flow's queries. They run as the user (row-level security keeps each user to
 * their own generations, suggestions and cards), inside the caller's transaction.
 */

export const SUGGESTION_COLUMNS =
  'id, generation_id, position, front, back, status, edited, created_at, updated_at';
export const CARD_COLUMNS = 'id, front, back, source, suggestion_id, generation_id, created_at';

type Row = Record<string, unknown>;

/** One page of the caller's flashcard jobs, newest first, after the keyset `after`. */
export async function selectGenerationsPage(
  tx: Queryable,
  { after, limit }: { after: { createdAt: string; id: string } | undefined; limit: number },
): Promise<(Row & { cursor_ts: string; id: string })[]> {
  const { rows } = await tx.query<Row & { cursor_ts: string; id: string }>(
    `select ${JOB_VIEW_COLUMNS},
            to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
       from public.ai_generations
      where recipe = 'flashcards'
        and ($1::timestamptz is null or (created_at, id) < ($1::timestamptz, $2::uuid))
      order by created_at desc, id desc
      limit $3`,
    [after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return rows;
}

export async function selectGeneration(tx: Queryable, id: string): Promise<Row | undefined> {
  const { rows } = await tx.query(
    `select ${JOB_VIEW_COLUMNS} from public.ai_generations where id = $1 and recipe = 'flashcards'`,
    [id],
  );
  return rows[0];
}

export async function generationVisible(tx: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await tx.query('select 1 from public.ai_generations where id = $1', [id]);
  return rowCount > 0;
}

export async function selectSuggestions(
  tx: Queryable,
  generationId: string,
  status: string | undefined,
): Promise<Row[]> {
  const { rows } = await tx.query(
    `select ${SUGGESTION_COLUMNS} from public.ai_suggestions
      where generation_id = $1 and ($2::text is null or status = $2)
      order by position`,
    [generationId, status ?? null],
  );
  return rows;
}

/** Edits a proposed suggestion; undefined when it is not proposed (or not the caller's). */
export async function updateProposedSuggestion(
  tx: Queryable,
  id: string,
  { front, back }: { front?: string | undefined; back?: string | undefined },
): Promise<Row | undefined> {
  const { rows } = await tx.query(
    `update public.ai_suggestions
        set front = coalesce($2, front), back = coalesce($3, back), edited = true
      where id = $1 and status = 'proposed'
      returning ${SUGGESTION_COLUMNS}`,
    [id, front ?? null, back ?? null],
  );
  return rows[0];
}

export async function selectSuggestionStatus(
  tx: Queryable,
  id: string,
): Promise<string | undefined> {
  const { rows } = await tx.query<{ status: string }>(
    'select status from public.ai_suggestions where id = $1',
    [id],
  );
  return rows[0]?.status;
}

export interface LockedSuggestion {
  id: string;
  front: string;
  back: string;
  edited: boolean;
  generation_id: string;
  status: string;
}

export async function lockSuggestion(
  tx: Queryable,
  id: string,
): Promise<LockedSuggestion | undefined> {
  const { rows } = await tx.query<LockedSuggestion>(
    'select id, front, back, edited, generation_id, status from public.ai_suggestions where id = $1 for update',
    [id],
  );
  return rows[0];
}

export async function markSuggestionAccepted(tx: Queryable, id: string): Promise<void> {
  await tx.query(`update public.ai_suggestions set status = 'accepted' where id = $1`, [id]);
}

/** The suggestion's card, created once: undefined when it already had one. */
export async function insertCardOfSuggestion(
  tx: Queryable,
  suggestion: LockedSuggestion,
): Promise<Row | undefined> {
  const { rows } = await tx.query(
    `insert into public.cards (user_id, front, back, source, suggestion_id, generation_id)
     values ((select auth.uid()), $2, $3, $4, $1, $5)
     on conflict (suggestion_id) do nothing
     returning ${CARD_COLUMNS}`,
    [
      suggestion.id,
      suggestion.front,
      suggestion.back,
      suggestion.edited ? 'ai_edited' : 'ai',
      suggestion.generation_id,
    ],
  );
  return rows[0];
}

export async function selectCardOfSuggestion(
  tx: Queryable,
  suggestionId: string,
): Promise<Row | undefined> {
  const { rows } = await tx.query(
    `select ${CARD_COLUMNS} from public.cards where suggestion_id = $1`,
    [suggestionId],
  );
  return rows[0];
}

/** Rejects a proposed (or already rejected) suggestion; undefined otherwise. */
export async function rejectSuggestion(tx: Queryable, id: string): Promise<Row | undefined> {
  const { rows } = await tx.query(
    `update public.ai_suggestions set status = 'rejected'
      where id = $1 and status in ('proposed', 'rejected')
      returning ${SUGGESTION_COLUMNS}`,
    [id],
  );
  return rows[0];
}
