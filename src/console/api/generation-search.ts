import type { Queryable, Row } from '../../db/types.ts';
import {
  type GenerationFilters,
  type HourCount,
  type Keyset,
  selectGenerations,
  selectHourCounts,
  selectNewestOfRecipe,
  selectRowHours,
} from './sql.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Hours of counts read first: enough for a page of most filters on a busy table. */
const FIRST_HOURS = 48;

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
 * about `budgetRows` index entries at most (HourCount.work; the server's default of 60 000 is
 * ~20 ms of the console's 100 on the benchmark machine, whatever the filters). A combination of filters that is
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
    budgetRows,
  }: { filters: GenerationFilters; after: Keyset; limit: number; budgetRows: number },
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
  const table = await selectRowHours(db);
  if (table === undefined) return { rows: [], stoppedAt: undefined };
  const from = filters.from === undefined ? undefined : hourOf(Date.parse(filters.from));
  const floor = from !== undefined && from > table.oldest ? from : table.oldest;

  // Hours are counted a stretch of time at a time, each four times longer than the one before,
  // so a page found in the last hours never reads the counts of the whole history.
  const plan = new Plan(budgetRows, upTo === undefined);
  const rows: GenerationSearch['rows'] = [];
  let top = upTo;
  for (let hours = FIRST_HOURS; ; hours *= 4) {
    const start = (top ?? table.newest).getTime() - (hours - 1) * HOUR;
    const bottom = new Date(Math.max(start, floor.getTime()));
    const counts = await hourCounts(db, {
      filters,
      upTo: top,
      downTo: bottom,
      first: hours === FIRST_HOURS,
    });
    const left = plan.add(counts);
    for (const stretch of plan.take()) {
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
    const older = bottom > floor;
    if (left !== undefined) {
      // The plan is full: say where it stopped, unless nothing older can match.
      const more = older || left.some((hour) => hour.matches > 0);
      return { rows, stoppedAt: more ? plan.oldest : undefined };
    }
    if (!older) return { rows, stoppedAt: undefined };
    top = new Date(bottom.getTime() - HOUR);
  }
}

/**
 * The hour counts of a stretch of time. Past the first, the days that can hold a match are found
 * first from the daily rollup, and only their hours are read: a value that occurs on few days
 * (or never) then costs a read of a few hundred daily rows, not of every hour of the history.
 */
async function hourCounts(
  db: Queryable,
  {
    filters,
    upTo,
    downTo,
    first,
  }: { filters: GenerationFilters; upTo: Date | undefined; downTo: Date; first: boolean },
): Promise<HourCount[]> {
  if (first) return selectHourCounts(db, { filters, upTo, downTo });
  const days = (
    await selectHourCounts(db, { filters, upTo, downTo: dayOf(downTo), grain: 'day' })
  ).filter((day) => day.matches > 0);
  if (days.length === 0) return [];
  const newestEnd = days[0]!.bucket_start.getTime() + DAY - HOUR;
  return selectHourCounts(db, {
    filters,
    upTo: upTo === undefined || upTo.getTime() > newestEnd ? new Date(newestEnd) : upTo,
    downTo: new Date(Math.max(downTo.getTime(), days.at(-1)!.bucket_start.getTime())),
  });
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

type Stretch = { from: Date; to: Date | undefined };

/**
 * The hours to search, newest first, as stretches of consecutive hours: hours that cannot hold a
 * match are left out, and hours are taken until their cost reaches the budget.
 */
class Plan {
  private readonly pending: Stretch[] = [];
  private spent = 0;
  private stretches = 0;
  private skipped = false;
  /** The start of the oldest hour taken. */
  oldest: Date | undefined;

  constructor(
    private readonly budgetRows: number,
    /** The newest hour has no cursor or range above it. */
    private readonly openAbove: boolean,
  ) {}

  /** Takes `hours` (newest first) while the budget lasts; returns those left out, if any. */
  add(hours: HourCount[]): HourCount[] | undefined {
    for (const [index, hour] of hours.entries()) {
      if (hour.matches === 0) {
        this.skipped = true;
        continue;
      }
      if (!this.take1(hour)) return hours.slice(index);
    }
    return undefined;
  }

  /** The stretches taken since the last call. */
  take(): Stretch[] {
    return this.pending.splice(0);
  }

  private take1(hour: HourCount): boolean {
    if (this.spent >= this.budgetRows) return false;
    const end = new Date(hour.bucket_start.getTime() + HOUR);
    const last = this.pending.at(-1);
    if (last && last.from.getTime() === end.getTime()) {
      last.from = hour.bucket_start;
    } else {
      if (this.stretches === MAX_STRETCHES) return false;
      // Open above when nothing newer was skipped and no cursor or range bounds it: a row
      // written since the counts were read still shows.
      const open = this.openAbove && this.oldest === undefined && !this.skipped;
      this.pending.push({ from: hour.bucket_start, to: open ? undefined : end });
      this.stretches++;
    }
    this.oldest = hour.bucket_start;
    this.spent += hour.work;
    return true;
  }
}

function hourOf(time: number): Date {
  return new Date(Math.floor(time / HOUR) * HOUR);
}

function dayOf(time: Date): Date {
  return new Date(Math.floor(time.getTime() / DAY) * DAY);
}
