/**
 * Working-day deadlines for complaint cases (pure). "Forward within 3 working days" means: by the
 * end of the 3rd working day after the day the case was received, in the carrier's time zone. The
 * day of receipt never counts; a case received on a Saturday starts counting on Monday. Weekends
 * (Saturday, Sunday) and configured public holidays are not working days; configured make-up days
 * (调休: a Saturday or Sunday declared a working day) are.
 */

import { offsetMinutes } from '../domain/time.js';

export interface WorkCalendar {
  /** IANA zone whose calendar days count, e.g. Asia/Shanghai. */
  zone: string;
  /** Public holidays, YYYY-MM-DD. */
  holidays: ReadonlySet<string>;
  /** Weekend days that are working days, YYYY-MM-DD. */
  workingWeekends: ReadonlySet<string>;
}

export function calendar(zone: string, holidays: readonly string[] = [], workingWeekends: readonly string[] = []): WorkCalendar {
  return { zone, holidays: new Set(holidays), workingWeekends: new Set(workingWeekends) };
}

const DAY = 86_400_000;
/** The zone's UTC offset at instant `ms`, in ms (east positive). */
function offsetAt(zone: string, ms: number): number {
  return offsetMinutes(zone, ms) * 60_000;
}


/** The local calendar date (YYYY-MM-DD) in `zone` at instant `ms`. */
export function localDate(ms: number, zone: string): string {
  return new Date(ms + offsetAt(zone, ms)).toISOString().slice(0, 10);
}

function utcOf(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}

/** The date after `date` (both YYYY-MM-DD). */
export function nextDate(date: string): string {
  return new Date(utcOf(date) + DAY).toISOString().slice(0, 10);
}

/** Epoch ms of local midnight starting `date` in `zone` (DST-safe: the offset is re-read at the result). */
export function startOfDay(date: string, zone: string): number {
  const naive = utcOf(date);
  let t = naive - offsetAt(zone, naive);
  t = naive - offsetAt(zone, t);
  return t;
}

export function isWorkingDay(date: string, cal: WorkCalendar): boolean {
  if (cal.holidays.has(date)) return false;
  const weekday = new Date(utcOf(date)).getUTCDay();
  if (weekday === 0 || weekday === 6) return cal.workingWeekends.has(date);
  return true;
}

/**
 * The deadline `days` working days after the day of `fromMs`: the instant the day after the last
 * of those working days starts (a case is late from that instant on).
 */
export function workingDayDeadline(fromMs: number, days: number, cal: WorkCalendar): number {
  let date = localDate(fromMs, cal.zone);
  let left = days;
  // Bounded: every calendar has a working day within any 100 days unless misconfigured.
  for (let guard = 0; left > 0 && guard < days * 7 + 400; guard++) {
    date = nextDate(date);
    if (isWorkingDay(date, cal)) left--;
  }
  return startOfDay(nextDate(date), cal.zone);
}

/** Working days from the day after `fromMs`'s day up to and including the day of `toMs` (0 when not after). */
export function workingDaysBetween(fromMs: number, toMs: number, cal: WorkCalendar): number {
  let date = localDate(fromMs, cal.zone);
  const end = localDate(toMs, cal.zone);
  let n = 0;
  for (let guard = 0; date < end && guard < 20_000; guard++) {
    date = nextDate(date);
    if (isWorkingDay(date, cal)) n++;
  }
  return n;
}
