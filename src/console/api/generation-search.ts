import type { Queryable, Row } from '../../db/types.ts';
import {
  type GenerationFilters,
  type HourCount,
  type Keyset,
  selectGenerations,
  selectHourCounts,
  selectNewestOfRecipe,
} from './sql.ts';

const HOUR = 3_600_000;
/** Hours of counts read first: enough for a page of most filters on a busy table. */
const FIRST_HOURS = 48;

/**
 * How many index entries one request may read (HourCount.work) unless told otherwise
 * (GENLOOP_CONSOLE_SEARCH_ROWS): at about 3 000 a millisecond on the benchmark machine, ~20 ms of
 * a request's 100, whatever the filters.
 */
export const SEARCH_BUDGET_ROWS = 60_000;
/** Stretches of hours searched in one request, each one statement. */
const MAX_STRETCHES = 24;

export interface GenerationSearch {
  /** Up to `limit` rows, newest first. */
  rows: (Row & { id: string; cursor_ts: string })[];
  /**
   * Set when the search stopped before filling the page and before the oldest row: every match
   * newer than this instant is in `rows`, older ones are still to be searched.
   */
  stoppedAt: Date | undefined;
}

/**
 * Finds up to `limit` telemetry rows matching `filters` below the cursor, newest first, reading
 * at most about {@link SEARCH_BUDGET_ROWS} rows of the table. A combination of filters that is
 * rare together could otherwise walk the whole table in one request; here it returns the
 * matches found so far and where it stopped, and the next request carries on from there.
 *
 * The hourly rollup says how many rows each hour holds and, for the filters it can tell apart
 * (provider, route strategy, source, status, fallback used), whether the hour can hold a match
 * at all: hours that cannot are skipped unread, and so a value that never occurs answers at
 * once. A recipe is found through its own index: the search starts at the newest row that has
 * it. A user's rows are few and have their own index, so a search by user is not bounded.
 */
export async function searchGenerations(
  db: Queryable,
  {
    filters,
    after,
    limit,
    budgetRows = SEARCH_BUDGET_ROWS,
  }: { filters: GenerationFilters; after: Keyset; limit: number; budgetRows?: number },
): Promise<GenerationSearch> {
  if (filters.user_id !== undefined) {
    return { rows: await selectGenerations(db, { filters, after, limit }), stoppedAt: undefined };
  }
  // The newest hour that can hold a row: the cursor's, the end of the range's, the recipe's.
  const tops: Date[] = [];
  if (after !== undefined) tops.push(cursorHour(after));
  if (filters.to !== undefined) tops.push(hourOf(Date.parse(filters.to)));
  if (filters.recipe !== undefined) {
    const newest = await selectNewestOfRecipe(db, { filters, after });
    if (newest === undefined) return { rows: [], stoppedAt: undefined };
    tops.push(hourOf(newest.getTime()));
  }
  const upTo = tops.length === 0 ? undefined : new Date(Math.min(...tops.map(Number)));
  const lowest = filters.from === undefined ? undefined : hourOf(Date.parse(filters.from));
  const plan = await planStretches(db, { filters, upTo, lowest, budgetRows });

  const rows: GenerationSearch['rows'] = [];
  for (const stretch of plan.stretches) {
    rows.push(
      ...(await selectGenerations(db, {
        filters,
        after,
        limit: limit - rows.length,
        within: stretch,
      })),
    );
    if (rows.length >= limit) return { rows, stoppedAt: undefined };
  }
  return { rows, stoppedAt: plan.stoppedAt };
}

/** The nil UUID: the id of a cursor that stands for a point in time (where a search stopped). */
export const TIME_CURSOR_ID = '00000000-0000-0000-0000-000000000000';

/**
 * The hour of a cursor's position. A cursor where a search stopped sits at the start of an hour
 * and stands for "before this instant", so its hour is the one before.
 */
function cursorHour(after: NonNullable<Keyset>): Date {
  const at = Date.parse(after.at);
  const exact = after.at.endsWith(':00:00.000000Z');
  return hourOf(after.id === TIME_CURSOR_ID && exact ? at - 1 : at);
}

interface Plan {
  /** Stretches of whole hours to search, newest first; the newest may be open above. */
  stretches: { from: Date; to: Date | undefined }[];
  /** The start of the oldest hour planned, when older hours may still hold matches. */
  stoppedAt: Date | undefined;
}

/** Picks the hours to search: newest first, skipping those without a match, within budget. */
async function planStretches(
  db: Queryable,
  {
    filters,
    upTo,
    lowest,
    budgetRows,
  }: {
    filters: GenerationFilters;
    upTo: Date | undefined;
    lowest: Date | undefined;
    budgetRows: number;
  },
): Promise<Plan> {
  const stretches: Plan['stretches'] = [];
  let spent = 0;
  let skipped = false;
  /** Adds the hour; false once the plan is full (the hour is then left out). */
  const add = (hour: HourCount): boolean => {
    if (hour.matches === 0) {
      skipped = true;
      return true;
    }
    if (spent >= budgetRows) return false;
    const end = new Date(hour.bucket_start.getTime() + HOUR);
    const last = stretches.at(-1);
    if (last && last.from.getTime() === end.getTime()) {
      last.from = hour.bucket_start;
    } else {
      if (stretches.length === MAX_STRETCHES) return false;
      // Open above when nothing newer was skipped and no cursor or range bounds it: a row
      // written since the counts were read still shows.
      const open = stretches.length === 0 && !skipped && upTo === undefined;
      stretches.push({ from: hour.bucket_start, to: open ? undefined : end });
    }
    spent += hour.work;
    return true;
  };
  /** Undefined when every hour fitted; else whether one left out may hold a match. */
  const addAll = (hours: HourCount[], olderUnread: boolean): boolean | undefined => {
    const left = hours.findIndex((hour) => !add(hour));
    if (left === -1) return undefined;
    return olderUnread || hours.slice(left).some((hour) => hour.matches > 0);
  };

  const firstFloor = new Date(
    hourOf(upTo?.getTime() ?? Date.now()).getTime() - (FIRST_HOURS - 1) * HOUR,
  );
  const olderExist = lowest === undefined || lowest < firstFloor;
  let more = addAll(
    await selectHourCounts(db, { filters, upTo, downTo: olderExist ? firstFloor : lowest }),
    olderExist,
  );
  if (more === undefined && olderExist) {
    more = addAll(
      await selectHourCounts(db, {
        filters,
        upTo: new Date(firstFloor.getTime() - HOUR),
        downTo: lowest,
      }),
      false,
    );
  }
  return { stretches, stoppedAt: more ? stretches.at(-1)?.from : undefined };
}

function hourOf(time: number): Date {
  return new Date(Math.floor(time / HOUR) * HOUR);
}
