/**
 * Business-hours arithmetic for SLA clocks (pure: data in, data out).
 *
 * A team works in windows: on each working day (its `days`, holidays excluded) from `start` to `end`, local
 * time in the team's IANA time zone. Time outside the windows does not count towards a business-hours SLA.
 *
 * - `end` after `start` (09:00–17:00): the window lies within its day. `end: 24:00` runs to the next midnight.
 * - `end` before `start` (22:00–06:00): a night shift; the window runs from `start` on its day to `end` on the
 *   next day. It belongs to the day it starts on: `days: [mon]` is the night from Monday to Tuesday, and a
 *   holiday cancels the shift that starts on it (not the one that ends on it).
 * - `start` equal to `end` is rejected (say 00:00–24:00 for the whole day).
 * - Local times are mapped to instants by luxon: across a daylight-saving change a window keeps its wall-clock
 *   times, so it is an hour shorter or longer in real time (22:00–06:00 is 7 hours on the spring night in
 *   Europe/Berlin and 9 on the autumn one). A start in the skipped hour moves forward to the first instant after
 *   it; a wall time that happens twice resolves as luxon resolves it (the later, standard-time occurrence).
 *
 * A calendar of `null` means calendar time: durations are added as they are.
 */
import { DateTime } from 'luxon';
import type { CaseTypeConfig } from '../config/sections/review.js';
import type { TeamConfig } from '../config/sections/teams.js';

export type Weekday = TeamConfig['workingHours']['days'][number];

/** The working time of a team. `TeamConfig` fits it too (see `calendarOf`). */
export interface WorkingCalendar {
  /** IANA time zone, e.g. Europe/Berlin. */
  timezone: string;
  days: readonly Weekday[];
  /** Local clock time HH:MM. */
  start: string;
  /** Local clock time HH:MM (24:00 allowed); before `start`: the window ends the next day. */
  end: string;
  /** Days off, local dates YYYY-MM-DD. */
  holidays: readonly string[];
}

/** Either a calendar, a team (its working hours), or null for calendar time. */
export type CalendarLike = WorkingCalendar | TeamConfig | null | undefined;

/** A pause of an SLA clock (e.g. while waiting for information); `to` undefined or null: still paused. */
export interface ClockPause {
  from: number;
  to?: number | null;
}

const WEEKDAY_NUMBER: Record<Weekday, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
/** How far the arithmetic looks for a working window before it gives up (a calendar with none). */
const MAX_EMPTY_DAYS = 3 * 366;

/** The working calendar of a team. */
export function calendarOf(team: TeamConfig): WorkingCalendar {
  return {
    timezone: team.timezone,
    days: team.workingHours.days,
    start: team.workingHours.start,
    end: team.workingHours.end,
    holidays: team.holidays,
  };
}

/**
 * The calendar an SLA of `caseType` counts in: the owner team's working hours when `sla.hours` is business,
 * null (calendar time) when it is calendar or the owner team is unknown.
 */
export function slaCalendar(
  caseType: Pick<CaseTypeConfig, 'slaHours' | 'owner'>,
  teams: Record<string, TeamConfig>,
): WorkingCalendar | null {
  if (caseType.slaHours !== 'business' || !caseType.owner) return null;
  const team = teams[caseType.owner];
  return team ? calendarOf(team) : null;
}

interface Compiled {
  zone: string;
  days: Set<number>;
  start: { hour: number; minute: number };
  end: { hour: number; minute: number };
  overnight: boolean;
  holidays: Set<string>;
}

const cache = new WeakMap<object, Compiled>();

function toCalendar(c: WorkingCalendar | TeamConfig): WorkingCalendar {
  return 'workingHours' in c ? calendarOf(c) : c;
}

function parseClock(text: string, what: string): { hour: number; minute: number } {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  const hour = m ? Number(m[1]) : Number.NaN;
  const minute = m ? Number(m[2]) : Number.NaN;
  if (!m || minute > 59 || hour > 24 || (hour === 24 && minute !== 0)) {
    throw new RangeError(`working hours ${what} "${text}" is not a time like 09:00 (00:00 to 24:00)`);
  }
  return { hour, minute };
}

/** Validates a calendar and prepares it for the arithmetic; throws RangeError with a clear sentence. */
function compile(input: WorkingCalendar | TeamConfig): Compiled {
  const hit = cache.get(input);
  if (hit) return hit;
  const c = toCalendar(input);
  if (!DateTime.local({ zone: c.timezone }).isValid) throw new RangeError(`"${c.timezone}" is not an IANA time zone`);
  const start = parseClock(c.start, 'start');
  const end = parseClock(c.end, 'end');
  if (start.hour === 24) throw new RangeError('working hours cannot start at 24:00 (use 00:00)');
  const s = start.hour * 60 + start.minute;
  const e = end.hour * 60 + end.minute;
  if (s === e) {
    throw new RangeError(`working hours ${c.start}–${c.end} are empty: start and end are equal (use 00:00–24:00 for whole days)`);
  }
  if (end.hour === 24 && s > e) throw new RangeError('working hours ending at 24:00 must start before it');
  const compiled: Compiled = {
    zone: c.timezone,
    days: new Set(c.days.map((d) => WEEKDAY_NUMBER[d])),
    start,
    end,
    overnight: e < s,
    holidays: new Set(c.holidays),
  };
  cache.set(input, compiled);
  return compiled;
}

/** Checks a calendar without using it: undefined when it is usable, else the reason. */
export function calendarProblem(calendar: WorkingCalendar | TeamConfig): string | undefined {
  try {
    const c = compile(calendar);
    if (c.days.size === 0) return 'working hours have no working days';
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The working window that starts on the local date `day` (midnight in the zone), or undefined on a day off. */
function windowOn(c: Compiled, day: DateTime): { from: number; to: number } | undefined {
  if (!c.days.has(day.weekday)) return undefined;
  if (c.holidays.has(day.toISODate() ?? '')) return undefined;
  const base = { year: day.year, month: day.month, day: day.day };
  const from = DateTime.fromObject({ ...base, ...c.start }, { zone: c.zone }).toMillis();
  let to: number;
  if (c.end.hour === 24) {
    to = day.plus({ days: 1 }).startOf('day').toMillis();
  } else {
    const endDay = c.overnight ? day.plus({ days: 1 }) : day;
    to = DateTime.fromObject({ year: endDay.year, month: endDay.month, day: endDay.day, ...c.end }, { zone: c.zone }).toMillis();
  }
  return to > from ? { from, to } : undefined;
}

/** Working windows in time order, from the one that may contain `t` (a night shift of the day before) onwards. */
function* windowsFrom(c: Compiled, t: number): Generator<{ from: number; to: number }> {
  let day = DateTime.fromMillis(t, { zone: c.zone }).startOf('day').minus({ days: 1 });
  let empty = 0;
  for (;;) {
    const w = windowOn(c, day);
    if (w) {
      empty = 0;
      yield w;
    } else if (++empty > MAX_EMPTY_DAYS) {
      throw new RangeError('the working calendar has no working time in three years (no days, or every day a holiday)');
    }
    day = day.plus({ days: 1 });
  }
}

function resolveCalendar(calendar: CalendarLike): Compiled | null {
  return calendar ? compile(calendar) : null;
}

/**
 * The instant at which `durationMs` of working time has passed since `startMs`: the SLA deadline on business
 * hours. Started outside working hours, the clock starts with the next window. A duration that ends exactly at a
 * window's end is due at that end (opened Monday 09:00 with 8h on 09:00–17:00: due Monday 17:00). With a null
 * calendar: `startMs + durationMs`. A duration ≤ 0 is due at `startMs`.
 */
export function addWorkingTime(startMs: number, durationMs: number, calendar: CalendarLike): number {
  if (durationMs <= 0) return startMs;
  const c = resolveCalendar(calendar);
  if (!c) return startMs + durationMs;
  let remaining = durationMs;
  for (const w of windowsFrom(c, startMs)) {
    if (w.to <= startMs) continue;
    const from = Math.max(w.from, startMs);
    const available = w.to - from;
    if (remaining <= available) return from + remaining;
    remaining -= available;
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

/**
 * Working time between two instants (ms): how much of [aMs, bMs) falls in working windows. Negative when bMs is
 * before aMs (the same amount, signed). With a null calendar: `bMs - aMs`.
 */
export function workingTimeBetween(aMs: number, bMs: number, calendar: CalendarLike): number {
  const c = resolveCalendar(calendar);
  if (!c) return bMs - aMs;
  if (bMs < aMs) return -workingTimeBetween(bMs, aMs, calendar);
  let total = 0;
  for (const w of windowsFrom(c, aMs)) {
    if (w.from >= bMs) break;
    const overlap = Math.min(w.to, bMs) - Math.max(w.from, aMs);
    if (overlap > 0) total += overlap;
  }
  return total;
}

/** Whether `t` falls in a working window (always true for calendar time). */
export function isWorkingTime(t: number, calendar: CalendarLike): boolean {
  const c = resolveCalendar(calendar);
  if (!c) return true;
  for (const w of windowsFrom(c, t)) {
    if (w.from > t) return false;
    if (t < w.to) return true;
  }
  /* c8 ignore next */
  return false;
}

/** The stretches in which an SLA clock opened at `openedAt` runs, given its pauses (merged, clipped, in order). */
function runningStretches(openedAt: number, pauses: readonly ClockPause[]): { from: number; to: number }[] {
  const sorted = pauses
    .map((p) => ({ from: Math.max(p.from, openedAt), to: p.to ?? Number.POSITIVE_INFINITY }))
    .filter((p) => p.to > p.from)
    .sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  let cursor = openedAt;
  for (const p of sorted) {
    if (p.from > cursor) out.push({ from: cursor, to: p.from });
    cursor = Math.max(cursor, p.to);
    if (cursor === Number.POSITIVE_INFINITY) return out;
  }
  out.push({ from: cursor, to: Number.POSITIVE_INFINITY });
  return out;
}

/**
 * The deadline of an SLA clock opened at `openedAt` that stops during `pauses` (waiting for information) and
 * counts `durationMs` of working time in `calendar` (null: calendar time). Pauses may overlap, be unsorted or
 * start before the opening. Returns null when the clock is paused now (a pause without `to`) with time left on
 * it: the deadline is unknown until the pause ends. When the time ran out before that pause began, the
 * deadline is the instant it ran out.
 */
export function slaDue(openedAt: number, pauses: readonly ClockPause[], durationMs: number, calendar: CalendarLike): number | null {
  let remaining = durationMs;
  for (const s of runningStretches(openedAt, pauses)) {
    if (s.to === Number.POSITIVE_INFINITY) return addWorkingTime(s.from, remaining, calendar);
    const available = workingTimeBetween(s.from, s.to, calendar);
    if (remaining <= available) return addWorkingTime(s.from, remaining, calendar);
    remaining -= available;
  }
  return null;
}

/** How much of an SLA clock's time has run by `now` (working time outside pauses, since `openedAt`). */
export function slaElapsed(openedAt: number, pauses: readonly ClockPause[], now: number, calendar: CalendarLike): number {
  let total = 0;
  for (const s of runningStretches(openedAt, pauses)) {
    if (s.from >= now) break;
    total += workingTimeBetween(s.from, Math.min(s.to, now), calendar);
  }
  return total;
}
