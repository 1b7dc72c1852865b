/**
 * Reads RFC 5545 recurrence text into plain data. Our own parser rather than
 * `RRule.parseString`, which accepts `FREQ=FOO` or `BYHOUR=25` silently (and
 * an out-of-range BY* value makes rrule search to the year 9999).
 *
 * Accepted input: a bare rule `FREQ=WEEKLY;BYDAY=MO`, `RRULE:FREQ=...`, or
 * several lines with one RRULE plus optional
 *   DTSTART;TZID=Europe/London:20260101T090000   (zoned)
 *   DTSTART:20260101T090000Z                      (UTC)
 *   DTSTART:20260101T090000                       (floating: the schedule's zone)
 *   DTSTART;VALUE=DATE:20260101                   (midnight)
 *   EXDATE[;TZID=...]:20260105T090000,20260112T090000  (any number of lines)
 */
import type { Options, Weekday } from 'rrule';
import { daysInMonth } from './calendar.js';
import { FREQ as Frequency, rruleLib } from './rrule-lib.js';
import { ScheduleError } from './types.js';
import { isValidTimeZone } from './zone.js';

/** Most occurrences a COUNT rule may ask for (they are expanded up front). */
export const MAX_COUNT = 100_000;

export interface DateValue {
  /** Naive local time (wall clock encoded as UTC), or the instant when `utc`. */
  naive: number;
  utc: boolean;
  /** Written as a DATE (no time of day). */
  dateOnly: boolean;
  /** TZID parameter, if any. */
  zone?: string;
}

export interface ParsedRRule {
  /** The RRULE body as written (after `RRULE:`), for descriptions. */
  body: string;
  /** rrule options without dtstart/until/count, which the schedule fills in. */
  options: Partial<Options>;
  freq: number;
  interval: number;
  count?: number;
  until?: DateValue;
  dtstart?: DateValue;
  exdates: DateValue[];
}

const FREQUENCIES: Readonly<Record<string, number>> = Frequency;

const WEEKDAY_CODES = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

function fail(message: string): never {
  throw new ScheduleError(`rrule: ${message}`);
}

/** Splits the text into its RRULE body and DTSTART / EXDATE values. */
export function parseRRuleText(text: string): ParsedRRule {
  // RFC 5545 folds long lines by starting continuation lines with a space.
  const lines = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  let body: string | undefined;
  let dtstart: DateValue | undefined;
  const exdates: DateValue[] = [];
  for (const line of lines) {
    const name = /^[A-Za-z-]+/.exec(line)?.[0].toUpperCase() ?? '';
    const isBareRule = line.includes('=') && !/^[A-Za-z-]+[;:]/.test(line);
    if (name === 'RRULE' && /^RRULE:/i.test(line)) {
      if (body !== undefined) fail('only one RRULE line is supported');
      body = line.slice('RRULE:'.length).trim();
    } else if (isBareRule) {
      if (body !== undefined) fail('only one RRULE line is supported');
      body = line;
    } else if (name === 'DTSTART') {
      if (dtstart) fail('DTSTART appears more than once');
      const values = parseDateProperty(line, 'DTSTART');
      if (values.length !== 1) fail('DTSTART takes exactly one value');
      dtstart = values[0];
    } else if (name === 'EXDATE') {
      exdates.push(...parseDateProperty(line, 'EXDATE'));
    } else {
      fail(`unsupported line "${line}" (expected RRULE, DTSTART or EXDATE)`);
    }
  }
  if (body === undefined || body === '') fail('no rule found (expected e.g. "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")');
  return { ...parseRuleBody(body), body, ...(dtstart ? { dtstart } : {}), exdates };
}

/** `NAME;PARAM=X:VALUE[,VALUE]` → its date values. */
function parseDateProperty(line: string, name: string): DateValue[] {
  const colon = line.indexOf(':');
  if (colon < 0) fail(`${name} needs a value after ":" in "${line}"`);
  const [, ...params] = line.slice(0, colon).split(';');
  let zone: string | undefined;
  let dateOnly: boolean | undefined;
  for (const param of params) {
    const [key, raw] = param.split('=');
    const value = (raw ?? '').replace(/^"(.*)"$/, '$1');
    if (key?.toUpperCase() === 'TZID') {
      zone = value.replace(/^\//, '');
      if (!isValidTimeZone(zone)) fail(`${name}: unknown time zone "${zone}"`);
    } else if (key?.toUpperCase() === 'VALUE' && /^(DATE|DATE-TIME)$/i.test(value)) {
      dateOnly = value.toUpperCase() === 'DATE';
    } else {
      fail(`${name}: unsupported parameter "${param}"`);
    }
  }
  const values = line.slice(colon + 1).split(',').map((v) => v.trim());
  return values.map((text) => {
    const parsed = parseDateValue(text, name);
    if (dateOnly !== undefined && dateOnly !== parsed.dateOnly) {
      fail(`${name}: "${text}" does not match VALUE=${dateOnly ? 'DATE' : 'DATE-TIME'}`);
    }
    if (zone && parsed.utc) fail(`${name}: "${text}" ends in Z (UTC) but also has TZID=${zone}; use one or the other`);
    return zone ? { ...parsed, zone } : parsed;
  });
}

/** `20260101`, `20260101T090000` or `20260101T090000Z`. */
export function parseDateValue(text: string, where: string): DateValue {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/i.exec(text);
  if (!match) fail(`${where}: "${text}" is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS, optionally ending in Z)`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    fail(`${where}: "${text}" is not a valid date-time`);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return { naive: date.getTime(), utc: match[7] !== undefined && match[7] !== '', dateOnly: match[4] === undefined };
}

interface RuleParts {
  options: Partial<Options>;
  freq: number;
  interval: number;
  count?: number;
  until?: DateValue;
}

function parseRuleBody(body: string): RuleParts {
  const seen = new Map<string, string>();
  for (const part of body.split(';')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    if (equals <= 0) fail(`"${part}" is not NAME=VALUE`);
    const key = part.slice(0, equals).trim().toUpperCase();
    const value = part.slice(equals + 1).trim();
    if (seen.has(key)) fail(`${key} appears more than once`);
    if (value === '') fail(`${key} has no value`);
    seen.set(key, value);
  }
  const freqText = seen.get('FREQ');
  if (!freqText) fail(`FREQ is required (e.g. "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"), got "${body}"`);
  const freq = FREQUENCIES[freqText.toUpperCase()];
  if (freq === undefined) fail(`FREQ=${freqText} is not one of ${Object.keys(FREQUENCIES).join(', ')}`);

  const options: Partial<Options> = { freq };
  const result: RuleParts = { options, freq, interval: 1 };
  for (const [key, value] of seen) {
    switch (key) {
      case 'FREQ':
        break;
      case 'INTERVAL':
        result.interval = positiveInteger(key, value);
        options.interval = result.interval;
        break;
      case 'COUNT':
        result.count = positiveInteger(key, value);
        if (result.count > MAX_COUNT) fail(`COUNT=${value} is more than ${MAX_COUNT}; use UNTIL for long series`);
        break;
      case 'UNTIL':
        result.until = parseDateValue(value, 'UNTIL');
        break;
      case 'BYSECOND':
        options.bysecond = integerList(key, value, 0, 59, false);
        break;
      case 'BYMINUTE':
        options.byminute = integerList(key, value, 0, 59, false);
        break;
      case 'BYHOUR':
        options.byhour = integerList(key, value, 0, 23, false);
        break;
      case 'BYMONTH':
        options.bymonth = integerList(key, value, 1, 12, false);
        break;
      case 'BYMONTHDAY':
        if (freq === Frequency.WEEKLY) fail('BYMONTHDAY cannot be used with FREQ=WEEKLY');
        options.bymonthday = integerList(key, value, 1, 31, true);
        break;
      case 'BYYEARDAY':
        if (freq === Frequency.DAILY || freq === Frequency.WEEKLY || freq === Frequency.MONTHLY) {
          fail(`BYYEARDAY cannot be used with FREQ=${freqText.toUpperCase()}`);
        }
        options.byyearday = integerList(key, value, 1, 366, true);
        break;
      case 'BYWEEKNO':
        if (freq !== Frequency.YEARLY) fail('BYWEEKNO can only be used with FREQ=YEARLY');
        options.byweekno = integerList(key, value, 1, 53, true);
        break;
      case 'BYSETPOS':
        options.bysetpos = integerList(key, value, 1, 366, true);
        break;
      case 'BYDAY':
        options.byweekday = weekdayList(value, freq);
        break;
      case 'WKST':
        options.wkst = weekday('WKST', value);
        break;
      default:
        fail(`unknown rule part "${key}"`);
    }
  }
  if (result.count !== undefined && result.until !== undefined) fail('COUNT and UNTIL cannot both be given');
  const hasOtherBy = ['BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYDAY', 'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYMONTH'].some((k) => seen.has(k));
  if (seen.has('BYSETPOS') && !hasOtherBy) fail('BYSETPOS needs another BYxxx part to select from');
  return result;
}

function positiveInteger(key: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) fail(`${key}=${value} must be a whole number of at least 1`);
  return Number(value);
}

function integerList(key: string, value: string, min: number, max: number, signed: boolean): number[] {
  return value.split(',').map((item) => {
    const text = item.trim();
    if (!(signed ? /^[+-]?\d+$/ : /^\d+$/).test(text)) fail(`${key}: "${text}" is not a whole number`);
    const number = Number(text);
    const magnitude = Math.abs(number);
    if (magnitude < min || magnitude > max) {
      fail(`${key}: ${text} is out of range ${signed ? `${min}-${max} or -${max}--${min}` : `${min}-${max}`}`);
    }
    return number;
  });
}

function weekday(key: string, text: string): Weekday {
  const index = WEEKDAY_CODES.indexOf(text.toUpperCase() as (typeof WEEKDAY_CODES)[number]);
  if (index < 0) fail(`${key}: "${text}" is not a weekday (MO, TU, WE, TH, FR, SA, SU)`);
  const { RRule } = rruleLib();
  return [RRule.MO, RRule.TU, RRule.WE, RRule.TH, RRule.FR, RRule.SA, RRule.SU][index]!;
}

function weekdayList(value: string, freq: number): Weekday[] {
  return value.split(',').map((item) => {
    const match = /^([+-]?\d{1,2})?([A-Za-z]{2})$/.exec(item.trim());
    if (!match) fail(`BYDAY: "${item}" is not a weekday like MO, 1MO or -1FR`);
    const day = weekday('BYDAY', match[2]!);
    if (match[1] === undefined) return day;
    const nth = Number(match[1]);
    if (nth === 0 || Math.abs(nth) > 53) fail(`BYDAY: "${item}" has an ordinal outside 1-53`);
    if (freq !== Frequency.MONTHLY && freq !== Frequency.YEARLY) fail(`BYDAY: "${item}" (a numbered weekday) needs FREQ=MONTHLY or FREQ=YEARLY`);
    return day.nth(nth);
  });
}
