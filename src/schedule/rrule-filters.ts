/**
 * Checks and filters that protect the rrule package from rules it handles
 * badly: impossible rules it would search for until the year 9999 (or loop
 * on forever), and a phase bug in its MINUTELY / SECONDLY skipping.
 */
import type { Options } from 'rrule';
import { daysInMonth, isLeapYear } from './calendar.js';
import type { ParsedRRule } from './rrule-parse.js';
import { FREQ as Frequency } from './rrule-lib.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from './zone.js';

/** A generous length of one period of each frequency (months and years rounded up). */
export const UNIT_MS: Record<number, number> = {
  [Frequency.YEARLY]: 366 * DAY_MS,
  [Frequency.MONTHLY]: 31 * DAY_MS,
  [Frequency.WEEKLY]: 7 * DAY_MS,
  [Frequency.DAILY]: DAY_MS,
  [Frequency.HOURLY]: HOUR_MS,
  [Frequency.MINUTELY]: MINUTE_MS,
  [Frequency.SECONDLY]: SECOND_MS,
};

export interface TimeFilter {
  accepts(naive: number): boolean;
}

/**
 * The BY parts that accept or reject whole periods of a sub-daily rule:
 * BYHOUR for HOURLY, BYHOUR and BYMINUTE for MINUTELY, all three for SECONDLY
 * (coarser parts would instead expand each period into several times).
 */
export function periodTimeFilter(parsed: ParsedRRule): TimeFilter | undefined {
  const { freq, options } = parsed;
  if (freq !== Frequency.HOURLY && freq !== Frequency.MINUTELY && freq !== Frequency.SECONDLY) return undefined;
  const hours = asSet(options.byhour);
  const minutes = freq === Frequency.HOURLY ? undefined : asSet(options.byminute);
  const seconds = freq === Frequency.SECONDLY ? asSet(options.bysecond) : undefined;
  if (!hours && !minutes && !seconds) return undefined;
  return {
    accepts(naive) {
      const date = new Date(naive);
      return (
        (!hours || hours.has(date.getUTCHours())) &&
        (!minutes || minutes.has(date.getUTCMinutes())) &&
        (!seconds || seconds.has(date.getUTCSeconds()))
      );
    },
  };
}

/**
 * Works around an rrule.js bug: for FREQ=MINUTELY / SECONDLY, when BYHOUR
 * (or BYMINUTE) rejects a period, rrule skips whole hours (minutes) without
 * keeping the INTERVAL's phase, so `FREQ=MINUTELY;INTERVAL=9;BYHOUR=3` from
 * midnight yields 03:03 instead of 03:00 (180 minutes is a multiple of 9).
 * The skip is harmless when the INTERVAL divides 60 (every hour, or minute,
 * then looks the same); otherwise we drop those parts from what rrule sees
 * and filter the expanded times here, which gives the RFC's answer.
 */
export function splitTimeFilters(parsed: ParsedRRule, periodFilter: TimeFilter | undefined): { options: Partial<Options>; timeFilter: TimeFilter | undefined } {
  const { freq, interval, options } = parsed;
  const affected = freq === Frequency.MINUTELY || freq === Frequency.SECONDLY;
  if (!periodFilter || !affected || 60 % interval === 0) return { options, timeFilter: undefined };
  const rest: Partial<Options> = { ...options, byhour: null, byminute: null };
  if (freq === Frequency.SECONDLY) rest.bysecond = null;
  return { options: rest, timeFilter: periodFilter };
}

/** 400 Gregorian years repeat exactly, weekdays included. */
const GREGORIAN_CYCLE_DAYS = 146_097;

/**
 * Whether any calendar day at all passes the rule's day-level parts
 * (BYMONTH, BYMONTHDAY, BYYEARDAY, plain BYDAY, with rrule's defaults from
 * DTSTART), so `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30` is rejected at once
 * instead of rrule searching to the year 9999 (seconds of CPU). The
 * INTERVAL's phase is ignored except that whole-week steps keep the weekday.
 * Numbered weekdays (1MO) and BYWEEKNO are left to rrule's own search.
 */
export function dayPatternCanMatch(parsed: ParsedRRule, dtstart: number): boolean {
  const { freq, options } = parsed;
  if (options.byweekno || hasNumberedWeekday(options.byweekday)) return true;
  const start = new Date(dtstart);
  const startWeekday = (start.getUTCDay() + 6) % 7;
  let months = asSet(options.bymonth);
  let monthDays = asList(options.bymonthday);
  const yearDays = asList(options.byyearday);
  let weekdays = weekdaySet(options.byweekday);
  if (!weekdays && !monthDays && !yearDays) {
    // rrule's defaults when no day part is given.
    if (freq === Frequency.YEARLY) {
      months ??= new Set([start.getUTCMonth() + 1]);
      monthDays = [start.getUTCDate()];
    } else if (freq === Frequency.MONTHLY) {
      monthDays = [start.getUTCDate()];
    } else if (freq === Frequency.WEEKLY) {
      weekdays = new Set([startWeekday]);
    }
  }
  // Steps of whole weeks (DAILY;INTERVAL=7, HOURLY;INTERVAL=168...) only ever land on DTSTART's weekday.
  const stepMs = parsed.interval * UNIT_MS[freq]!;
  if (freq !== Frequency.WEEKLY && freq !== Frequency.MONTHLY && freq !== Frequency.YEARLY && stepMs % (7 * DAY_MS) === 0) {
    weekdays = new Set([...(weekdays ?? [startWeekday])].filter((day) => day === startWeekday));
  }
  if (!months && !monthDays && !yearDays && !weekdays) return true;

  // Walk one full Gregorian cycle day by day with counters (no Date objects).
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let monthDay = start.getUTCDate();
  let weekday = startWeekday;
  let yearDay = Math.round((Date.UTC(year, month - 1, monthDay) - Date.UTC(year, 0, 1)) / DAY_MS) + 1;
  for (let step = 0; step < GREGORIAN_CYCLE_DAYS; step++) {
    const monthLength = daysInMonth(year, month);
    const yearLength = isLeapYear(year) ? 366 : 365;
    if (
      (!months || months.has(month)) &&
      (!weekdays || weekdays.has(weekday)) &&
      (!monthDays || monthDays.some((v) => (v > 0 ? v : monthLength + v + 1) === monthDay)) &&
      (!yearDays || yearDays.some((v) => (v > 0 ? v : yearLength + v + 1) === yearDay))
    ) {
      return true;
    }
    weekday = (weekday + 1) % 7;
    yearDay++;
    if (++monthDay > monthLength) {
      monthDay = 1;
      if (++month > 12) {
        month = 1;
        year++;
        yearDay = 1;
      }
    }
  }
  return false;
}

function hasNumberedWeekday(value: Options['byweekday'] | undefined): boolean {
  const list = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.some((day) => typeof day === 'object' && day.n !== undefined && day.n !== 0);
}

/** rrule weekday numbers (0 = Monday) of a BYDAY option. */
function weekdaySet(value: Options['byweekday'] | undefined): Set<number> | undefined {
  if (value === null || value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return new Set(list.map((day) => (typeof day === 'number' ? day : typeof day === 'string' ? ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'].indexOf(day) : day.weekday)));
}

function asSet(value: number | number[] | null | undefined): Set<number> | undefined {
  const list = asList(value);
  return list ? new Set(list) : undefined;
}

export function asList(value: number | number[] | null | undefined): number[] | undefined {
  if (value === null || value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).slice().sort((a, b) => a - b);
}
