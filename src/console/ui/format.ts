const numberFormat = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const integerFormat = new Intl.NumberFormat('en');
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Shown where a value is missing, so an empty cell reads as "none" rather than "loading". */
export const NONE = '—';

export function integer(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : integerFormat.format(value);
}

export function decimal(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : numberFormat.format(value);
}

/** A ratio in 0..1 as a percentage. */
export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return NONE;
  return `${(value * 100).toFixed(digits)} %`;
}

export function milliseconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return NONE;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

export function usd(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return NONE;
  const amount = typeof value === 'string' ? Number(value) : value;
  if (!Number.isFinite(amount)) return String(value);
  return `$${amount.toFixed(amount !== 0 && Math.abs(amount) < 0.01 ? 6 : 4)}`;
}

/** A timestamp in the operator's time zone, to the second. */
export function dateTime(value: string | null | undefined): string {
  if (!value) return NONE;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTimeFormat.format(date);
}

const timeFormat = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
});

/** The time of day to the millisecond, for events a few milliseconds apart (attempts). */
export function timeOfDay(value: string | null | undefined): string {
  if (!value) return NONE;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : timeFormat.format(date);
}

/** An eval metric's value: every metric is a rate except the latency. */
export function metric(name: string, value: number | null | undefined): string {
  return name === 'p95_latency_ms' ? milliseconds(value) : percent(value);
}

/** How long ago, for "oldest waiting job" and the like. */
export function age(value: string | null | undefined, now = Date.now()): string {
  if (!value) return NONE;
  const seconds = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} d`;
}

/** The first characters of an id, enough to tell rows apart; the full id stays in a title. */
export function shortId(id: string | null | undefined): string {
  if (!id) return NONE;
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}
