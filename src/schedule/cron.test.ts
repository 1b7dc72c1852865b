import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cachedCronFields, cronSubMinuteWarning, parseCron } from './cron-parse.js';
import { CronSchedule, nextLocalMatch } from './cron.js';
import { formatInZone } from './index.js';
import { ScheduleError } from './types.js';
import { gapAround, localParts, localToInstants } from './zone.js';

const at = (iso: string) => Date.parse(iso);

/** The next `count` occurrences after `from`, as ISO strings with the zone's offset. */
function upcoming(expr: string, zone: string, from: string, count: number): string[] {
  const schedule = CronSchedule.parse(expr, zone);
  const found: string[] = [];
  for (let t = schedule.next(at(from)); t !== undefined && found.length < count; t = schedule.next(t)) found.push(formatInZone(t, zone));
  return found;
}

describe('cron occurrences: ordinary cases', () => {
  it.each<[string, string, string, string, string[]]>([
    ['daily at 03:00', '0 3 * * *', 'Europe/London', '2026-01-10T12:00:00Z', ['2026-01-11T03:00:00+00:00', '2026-01-12T03:00:00+00:00']],
    ['every 15 minutes', '*/15 * * * *', 'UTC', '2026-01-01T00:07:00Z', ['2026-01-01T00:15:00+00:00', '2026-01-01T00:30:00+00:00', '2026-01-01T00:45:00+00:00', '2026-01-01T01:00:00+00:00']],
    ['strictly after an exact match', '0 * * * *', 'UTC', '2026-01-01T05:00:00Z', ['2026-01-01T06:00:00+00:00']],
    ['weekdays by name (Fri 2 Jan → Mon 5 Jan)', '0 9 * * MON-FRI', 'UTC', '2026-01-02T10:00:00Z', ['2026-01-05T09:00:00+00:00', '2026-01-06T09:00:00+00:00', '2026-01-07T09:00:00+00:00']],
    ['weekday names in lower case', '0 9 * * sat,sun', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-03T09:00:00+00:00', '2026-01-04T09:00:00+00:00', '2026-01-10T09:00:00+00:00']],
    ['day-of-month OR day-of-week (Vixie)', '0 0 13 * FRI', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-02T00:00:00+00:00', '2026-01-09T00:00:00+00:00', '2026-01-13T00:00:00+00:00', '2026-01-16T00:00:00+00:00']],
    ['day-of-month alone when weekday is *', '0 0 13 * *', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-13T00:00:00+00:00', '2026-02-13T00:00:00+00:00']],
    ['weekday alone when day-of-month is ?', '0 0 ? * 5', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-02T00:00:00+00:00', '2026-01-09T00:00:00+00:00']],
    ['day 31 skips short months', '0 0 31 * *', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-31T00:00:00+00:00', '2026-03-31T00:00:00+00:00', '2026-05-31T00:00:00+00:00', '2026-07-31T00:00:00+00:00']],
    ['day 30 skips February', '0 12 30 * *', 'UTC', '2026-01-31T00:00:00Z', ['2026-03-30T12:00:00+00:00']],
    ['29 February finds the next leap year', '0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', ['2028-02-29T00:00:00+00:00', '2032-02-29T00:00:00+00:00']],
    ['29 February skips 2100 (not a leap year)', '0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z', ['2104-02-29T00:00:00+00:00']],
    ['Sunday as 7', '0 0 * * 7', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-04T00:00:00+00:00', '2026-01-11T00:00:00+00:00']],
    ['Sunday as 0', '0 0 * * 0', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-04T00:00:00+00:00']],
    ['a weekday range ending on SUN', '0 0 * * FRI-SUN', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-02T00:00:00+00:00', '2026-01-03T00:00:00+00:00', '2026-01-04T00:00:00+00:00', '2026-01-09T00:00:00+00:00']],
    ['month names', '0 0 1 JAN,jul *', 'UTC', '2026-02-01T00:00:00Z', ['2026-07-01T00:00:00+00:00', '2027-01-01T00:00:00+00:00']],
    ['range with step', '10-50/20 * * * *', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-01T00:10:00+00:00', '2026-01-01T00:30:00+00:00', '2026-01-01T00:50:00+00:00', '2026-01-01T01:10:00+00:00']],
    ['value with step means value to end', '45/10 * * * *', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-01T00:45:00+00:00', '2026-01-01T00:55:00+00:00', '2026-01-01T01:45:00+00:00']],
    ['lists and ranges mixed', '0 1,5-6,22 * * *', 'UTC', '2026-01-01T02:00:00Z', ['2026-01-01T05:00:00+00:00', '2026-01-01T06:00:00+00:00', '2026-01-01T22:00:00+00:00', '2026-01-02T01:00:00+00:00']],
    ['year rollover', '59 23 31 12 *', 'UTC', '2026-06-01T00:00:00Z', ['2026-12-31T23:59:00+00:00', '2027-12-31T23:59:00+00:00']],
    ['seconds field', '*/20 * * * * *', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-01T00:00:20+00:00', '2026-01-01T00:00:40+00:00', '2026-01-01T00:01:00+00:00']],
    ['seconds field with fixed time', '30 0 12 * * *', 'UTC', '2026-01-01T12:00:30Z', ['2026-01-02T12:00:30+00:00']],
    ['every second', '* * * * * *', 'UTC', '2026-01-01T00:00:00.500Z', ['2026-01-01T00:00:01+00:00', '2026-01-01T00:00:02+00:00']],
    ['Kolkata (+05:30, no DST)', '0 9 * * *', 'Asia/Kolkata', '2026-01-01T00:00:00Z', ['2026-01-01T09:00:00+05:30', '2026-01-02T09:00:00+05:30']],
    ['Kolkata hourly stays on the local hour', '0 * * * *', 'Asia/Kolkata', '2026-01-01T00:00:00Z', ['2026-01-01T06:00:00+05:30', '2026-01-01T07:00:00+05:30']],
    ['Kolkata local date differs from UTC date', '0 1 1 * *', 'Asia/Kolkata', '2026-01-01T00:00:00Z', ['2026-02-01T01:00:00+05:30']],
    ['@hourly', '@hourly', 'UTC', '2026-01-01T00:30:00Z', ['2026-01-01T01:00:00+00:00', '2026-01-01T02:00:00+00:00']],
    ['@daily', '@daily', 'Europe/London', '2026-06-01T12:00:00Z', ['2026-06-02T00:00:00+01:00']],
    ['@midnight', '@MIDNIGHT', 'UTC', '2026-06-01T12:00:00Z', ['2026-06-02T00:00:00+00:00']],
    ['@weekly', '@weekly', 'UTC', '2026-01-01T00:00:00Z', ['2026-01-04T00:00:00+00:00', '2026-01-11T00:00:00+00:00']],
    ['@monthly', '@monthly', 'UTC', '2026-01-15T00:00:00Z', ['2026-02-01T00:00:00+00:00']],
    ['@yearly', '@yearly', 'UTC', '2026-01-15T00:00:00Z', ['2027-01-01T00:00:00+00:00']],
    ['@annually', '@annually', 'America/New_York', '2026-01-15T00:00:00Z', ['2027-01-01T00:00:00-05:00']],
  ])('%s: %s in %s', (_label, expr, zone, from, expected) => {
    expect(upcoming(expr, zone, from, expected.length)).toEqual(expected);
  });
});

describe('cron occurrences across DST', () => {
  it.each<[string, string, string, string, string[]]>([
    // Europe/London: 2026-03-29 01:00 GMT → 02:00 BST; 2026-10-25 02:00 BST → 01:00 GMT.
    ['London fixed hour in the spring gap fires at the end of the gap', '30 1 * * *', 'Europe/London', '2026-03-28T00:00:00Z',
      ['2026-03-28T01:30:00+00:00', '2026-03-29T02:00:00+01:00', '2026-03-30T01:30:00+01:00']],
    ['London fixed hour in the overlap fires once, at the first', '30 1 * * *', 'Europe/London', '2026-10-24T12:00:00Z',
      ['2026-10-25T01:30:00+01:00', '2026-10-26T01:30:00+00:00']],
    ['London wildcard hour skips the gap', '*/30 * * * *', 'Europe/London', '2026-03-29T00:15:00Z',
      ['2026-03-29T00:30:00+00:00', '2026-03-29T02:00:00+01:00', '2026-03-29T02:30:00+01:00']],
    ['London wildcard hour fires in both passes of the overlap', '*/30 * * * *', 'Europe/London', '2026-10-25T00:10:00Z',
      ['2026-10-25T01:30:00+01:00', '2026-10-25T01:00:00+00:00', '2026-10-25T01:30:00+00:00', '2026-10-25T02:00:00+00:00']],
    ['London daily 03:00 keeps local time across the change', '0 3 * * *', 'Europe/London', '2026-03-28T00:00:00Z',
      ['2026-03-28T03:00:00+00:00', '2026-03-29T03:00:00+01:00']],

    // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    ['New York 02:30 on the spring day fires at 03:00 EDT', '30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z',
      ['2026-03-08T03:00:00-04:00', '2026-03-09T02:30:00-04:00']],
    ['New York: several gap matches collapse into one fire', '0,15,30,45 2 * * *', 'America/New_York', '2026-03-08T05:00:00Z',
      ['2026-03-08T03:00:00-04:00', '2026-03-09T02:00:00-04:00']],
    ['New York: a gap match and a real match at the same instant are one fire', '0 2,3 * * *', 'America/New_York', '2026-03-08T05:00:00Z',
      ['2026-03-08T03:00:00-04:00', '2026-03-09T02:00:00-04:00']],
    ['New York fixed 01:30 in the overlap fires once', '30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z',
      ['2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00']],
    ['New York hourly skips the missing hour', '0 * * * *', 'America/New_York', '2026-03-08T05:30:00Z',
      ['2026-03-08T01:00:00-05:00', '2026-03-08T03:00:00-04:00', '2026-03-08T04:00:00-04:00']],
    ['New York every 30 minutes runs all night through the overlap', '*/30 * * * *', 'America/New_York', '2026-11-01T04:40:00Z',
      ['2026-11-01T01:00:00-04:00', '2026-11-01T01:30:00-04:00', '2026-11-01T01:00:00-05:00', '2026-11-01T01:30:00-05:00', '2026-11-01T02:00:00-05:00']],
    ['New York stepped hours are elapsed-time too', '0 1-23/2 * * *', 'America/New_York', '2026-11-01T04:00:00Z',
      ['2026-11-01T01:00:00-04:00', '2026-11-01T01:00:00-05:00', '2026-11-01T03:00:00-05:00']],
    ['New York fixed hour list straddling the overlap', '0 0,1,2 * * *', 'America/New_York', '2026-11-01T03:00:00Z',
      ['2026-11-01T00:00:00-04:00', '2026-11-01T01:00:00-04:00', '2026-11-01T02:00:00-05:00', '2026-11-02T00:00:00-05:00']],

    // Australia/Lord_Howe: 2026-04-05 02:00 (+11) → 01:30 (+10:30); 2026-10-04 02:00 (+10:30) → 02:30 (+11).
    ['Lord Howe half-hour gap: matches inside it fire at 02:30', '15,45 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z',
      ['2026-10-04T02:30:00+11:00', '2026-10-04T02:45:00+11:00', '2026-10-05T02:15:00+11:00']],
    ['Lord Howe wildcard hour skips the half-hour gap', '*/15 * * * *', 'Australia/Lord_Howe', '2026-10-03T15:10:00Z',
      ['2026-10-04T01:45:00+10:30', '2026-10-04T02:30:00+11:00', '2026-10-04T02:45:00+11:00']],
    ['Lord Howe fixed time in the half-hour overlap fires once', '45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z',
      ['2026-04-05T01:45:00+11:00', '2026-04-06T01:45:00+10:30']],
    ['Lord Howe wildcard hour repeats the half hour', '*/15 * * * *', 'Australia/Lord_Howe', '2026-04-04T14:40:00Z',
      ['2026-04-05T01:45:00+11:00', '2026-04-05T01:30:00+10:30', '2026-04-05T01:45:00+10:30', '2026-04-05T02:00:00+10:30']],

    // Seconds in a gap: the whole minute 02:30 does not exist; every listed second collapses into one fire.
    ['weekly Sunday 02:00 meets the New York gap', '0 2 * * 0', 'America/New_York', '2026-02-20T00:00:00Z',
      ['2026-02-22T02:00:00-05:00', '2026-03-01T02:00:00-05:00', '2026-03-08T03:00:00-04:00', '2026-03-15T02:00:00-04:00']],
    ['monthly first-Sunday-like date on the Lord Howe gap day', '15 2 4 10 *', 'Australia/Lord_Howe', '2026-01-01T00:00:00Z',
      ['2026-10-04T02:30:00+11:00', '2027-10-04T02:15:00+11:00']],
    ['seconds field inside a gap', '0,30 30 2 * * *', 'America/New_York', '2026-03-08T06:00:00Z',
      ['2026-03-08T03:00:00-04:00', '2026-03-09T02:30:00-04:00']],
  ])('%s', (_label, expr, zone, from, expected) => {
    expect(upcoming(expr, zone, from, expected.length)).toEqual(expected);
  });

  it('fires a gap match when the search starts exactly at the end of the gap', () => {
    const schedule = CronSchedule.parse('30 2 * * *', 'America/New_York');
    expect(schedule.next(at('2026-03-08T06:59:59.999Z'))).toBe(at('2026-03-08T07:00:00Z'));
    expect(schedule.next(at('2026-03-08T07:00:00Z'))).toBe(at('2026-03-09T06:30:00Z'));
  });

  it('does not fire a fixed time again when the search starts in the second pass of an overlap', () => {
    const schedule = CronSchedule.parse('30 1 * * *', 'America/New_York');
    // 06:10Z is 01:10 EST, after 01:30 EDT already fired.
    expect(formatInZone(schedule.next(at('2026-11-01T06:10:00Z'))!, 'America/New_York')).toBe('2026-11-02T01:30:00-05:00');
    // 05:10Z is 01:10 EDT: the first pass is still ahead.
    expect(formatInZone(schedule.next(at('2026-11-01T05:10:00Z'))!, 'America/New_York')).toBe('2026-11-01T01:30:00-04:00');
  });

  it('previous() mirrors the DST rules', () => {
    const ny = 'America/New_York';
    const gap = CronSchedule.parse('30 2 * * *', ny);
    expect(formatInZone(gap.previous(at('2026-03-08T12:00:00Z'))!, ny)).toBe('2026-03-08T03:00:00-04:00');
    expect(formatInZone(gap.previous(at('2026-03-08T06:59:59Z'))!, ny)).toBe('2026-03-07T02:30:00-05:00');
    const overlap = CronSchedule.parse('30 1 * * *', ny);
    expect(formatInZone(overlap.previous(at('2026-11-01T07:00:00Z'))!, ny)).toBe('2026-11-01T01:30:00-04:00');
    const elapsed = CronSchedule.parse('*/30 * * * *', ny);
    expect(formatInZone(elapsed.previous(at('2026-11-01T06:45:00Z'))!, ny)).toBe('2026-11-01T01:30:00-05:00');
  });
});

describe('previous, between and countBetween', () => {
  it('previous() includes an occurrence exactly at the bound', () => {
    const schedule = CronSchedule.parse('0 3 * * *', 'UTC');
    expect(schedule.previous(at('2026-05-05T03:00:00Z'))).toBe(at('2026-05-05T03:00:00Z'));
    expect(schedule.previous(at('2026-05-05T02:59:59Z'))).toBe(at('2026-05-04T03:00:00Z'));
  });

  it('previous() reaches back years for a rare schedule', () => {
    expect(CronSchedule.parse('0 0 29 2 *', 'UTC').previous(at('2104-02-28T00:00:00Z'))).toBe(at('2096-02-29T00:00:00Z'));
  });

  it('between() is (after, until], oldest first, limited', () => {
    const schedule = CronSchedule.parse('0 * * * *', 'UTC');
    expect(schedule.between(at('2026-01-01T00:00:00Z'), at('2026-01-01T03:00:00Z'), 10).map((t) => new Date(t).toISOString())).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
    expect(schedule.between(at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), 2)).toHaveLength(2);
    expect(schedule.between(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:30:00Z'), 5)).toEqual([]);
  });

  it('countBetween() counts exactly under the cap and reports when capped', () => {
    const schedule = CronSchedule.parse('* * * * *', 'Europe/London');
    // The spring-forward day has 23 hours.
    expect(schedule.countBetween(at('2026-03-29T00:00:00Z'), at('2026-03-29T23:00:00Z'), 10_000)).toEqual({ count: 1380, capped: false });
    expect(schedule.countBetween(at('2026-03-29T00:00:00Z'), at('2026-03-29T23:00:00Z'), 100)).toEqual({ count: 100, capped: true });
    // Fall-back day: 25 hours of elapsed-time minutes.
    expect(schedule.countBetween(at('2026-10-24T23:00:00Z'), at('2026-10-26T00:00:00Z'), 10_000).count).toBe(25 * 60);
  });
});

/** Cron expressions for the properties: both DST modes, day fields, seconds. */
const EXPRESSIONS = [
  '*/15 * * * *', '30 2 * * *', '0,30 1 * * *', '0 */2 * * *', '45 1,2 * * *', '0 0 * * 1', '*/7 1-3 * * *',
  '0 0 29 2 *', '0 12 13 * 5', '20 * * * * *', '0 9-17 * * MON-FRI', '15 2 1 * *', '* 2 * * *', '0 0 1 1 *',
];
const ZONES = ['UTC', 'Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];
/** Instants around 2026's transitions in those zones, plus ordinary days. */
const PIVOTS = [
  '2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z', '2026-04-04T15:00:00Z',
  '2026-10-03T15:30:00Z', '2026-06-15T12:00:00Z', '2027-01-01T00:00:00Z',
].map(at);

const instantNear = fc.tuple(fc.constantFrom(...PIVOTS), fc.integer({ min: -36 * 3600, max: 36 * 3600 })).map(([pivot, seconds]) => pivot + seconds * 1000);

describe('cron properties', () => {
  it('next() and previous() agree: previous(t) <= t < next(previous(t)), and next(t) > t with previous(next(t)) = next(t)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXPRESSIONS), fc.constantFrom(...ZONES), instantNear, (expr, zone, t) => {
        const schedule = CronSchedule.parse(expr, zone);
        const previous = schedule.previous(t);
        const next = schedule.next(t);
        expect(next).toBeGreaterThan(t);
        expect(schedule.previous(next!)).toBe(next);
        expect(previous).toBeLessThanOrEqual(t);
        expect(schedule.next(previous!)).toBe(next);
      }),
      { numRuns: 150 },
    );
  });

  it('between() equals repeated next(), strictly increasing, whole seconds', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXPRESSIONS), fc.constantFrom(...ZONES), instantNear, (expr, zone, t) => {
        const schedule = CronSchedule.parse(expr, zone);
        const listed = schedule.between(t, t + 2 * 86_400_000, 40);
        const stepped: number[] = [];
        for (let n = schedule.next(t); n !== undefined && n <= t + 2 * 86_400_000 && stepped.length < 40; n = schedule.next(n)) stepped.push(n);
        expect(listed).toEqual(stepped);
        for (let i = 1; i < listed.length; i++) expect(listed[i]!).toBeGreaterThan(listed[i - 1]!);
        for (const occurrence of listed) expect(occurrence % 1000).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});

/**
 * An independent, slow oracle for 5-field expressions: scan every minute.
 * Elapsed-time: every real minute whose local reading matches. Wall-clock:
 * every matching local minute, mapped to its first instant or, inside a gap,
 * to the end of the gap.
 */
function bruteForce(expr: string, zone: string, from: number, to: number): number[] {
  const cron = parseCron(expr);
  const matches = (p: { month: number; day: number; hour: number; minute: number; weekday: number }) => {
    const domRestricted = !cron.dayOfMonth.isFull;
    const dowRestricted = !cron.dayOfWeek.isFull;
    const dom = cron.dayOfMonth.has(p.day);
    const dow = cron.dayOfWeek.has(p.weekday);
    const dayOk = domRestricted && dowRestricted ? dom || dow : domRestricted ? dom : dowRestricted ? dow : true;
    return cron.month.has(p.month) && dayOk && cron.hour.has(p.hour) && cron.minute.has(p.minute);
  };
  const found = new Set<number>();
  if (cron.elapsedTime) {
    for (let t = from; t <= to; t += 60_000) if (matches(localParts(t, zone))) found.add(t);
  } else {
    const firstLocal = from + localParts(from, zone).offsetMs - 3 * 3_600_000;
    const lastLocal = to + localParts(to, zone).offsetMs + 3 * 3_600_000;
    for (let local = firstLocal; local <= lastLocal; local += 60_000) {
      const d = new Date(local);
      const parts = { month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: d.getUTCDay() };
      if (!matches(parts)) continue;
      const instant = localToInstants(local, zone)[0] ?? gapAround(local, zone)!.at;
      if (instant >= from && instant <= to) found.add(instant);
    }
  }
  return [...found].sort((a, b) => a - b);
}

describe('cron against a brute-force oracle around transitions', () => {
  const cases = [
    ['*/10 * * * *', 'America/New_York', '2026-03-08T04:00:00Z'],
    ['*/10 * * * *', 'America/New_York', '2026-11-01T03:00:00Z'],
    ['5,35 1-3 * * *', 'America/New_York', '2026-03-08T04:00:00Z'],
    ['5,35 1-3 * * *', 'America/New_York', '2026-11-01T03:00:00Z'],
    ['*/20 1,2 * * *', 'Australia/Lord_Howe', '2026-04-04T12:00:00Z'],
    ['*/20 1,2 * * *', 'Australia/Lord_Howe', '2026-10-03T13:00:00Z'],
    ['10 */1 * * *', 'Australia/Lord_Howe', '2026-10-03T13:00:00Z'],
    ['0-59/7 0-4 * * *', 'Europe/London', '2026-03-28T22:00:00Z'],
    ['* 1 * * *', 'Europe/London', '2026-10-24T22:00:00Z'],
    ['* 1 * * *', 'Europe/London', '2026-03-28T22:00:00Z'],
    ['*/5 * * * *', 'Asia/Kolkata', '2026-03-28T22:00:00Z'],
    // Weekly and monthly schedules reach the transition day by a jump (matches over six days apart).
    ['0 2 * * 0', 'America/New_York', '2026-02-20T00:00:00Z', 30],
    ['30 1 * * SUN', 'Europe/London', '2026-10-01T00:00:00Z', 30],
    ['*/30 1 * * 0', 'Europe/London', '2026-10-01T00:00:00Z', 30],
    ['15 2 4 10 *', 'Australia/Lord_Howe', '2026-09-01T00:00:00Z', 40],
    ['*/15 * 5 4 *', 'Australia/Lord_Howe', '2026-03-20T00:00:00Z', 20],
  ] as const;
  it.each(cases)('%s in %s from %s', (expr, zone, from, days?: number) => {
    const start = at(from);
    const end = start + (days ? days * 86_400_000 : 8 * 3_600_000);
    const schedule = CronSchedule.parse(expr, zone);
    expect(schedule.between(start - 1, end, 10_000)).toEqual(bruteForce(expr, zone, start, end));
  });
});

describe('nextLocalMatch (calendar only)', () => {
  it('rounds up to the next whole second', () => {
    expect(nextLocalMatch(parseCron('* * * * * *'), Date.UTC(2026, 0, 1, 0, 0, 0, 1))).toBe(Date.UTC(2026, 0, 1, 0, 0, 1));
  });
  it('carries across month and year ends', () => {
    expect(nextLocalMatch(parseCron('0 0 * * *'), Date.UTC(2026, 11, 31, 0, 0, 1))).toBe(Date.UTC(2027, 0, 1));
  });
});

describe('6-field (seconds-first) expressions', () => {
  it('says that a 6th field made it a seconds-first expression', () => {
    expect(() => parseCron('15 7 * * MON-FRI *')).toThrow(
      'month field: "MON" is not a number (1-12) or a name (JAN-DEC); "15 7 * * MON-FRI *" has 6 fields, so it is read seconds first (second minute hour day-of-month month day-of-week): the 6th field made it a seconds-first expression. For minute hour day-of-month month day-of-week, write 5 fields',
    );
    // 5 fields: no word about seconds.
    expect(() => parseCron('* * * FOO *')).toThrow(/^month field: "FOO" is not a number \(1-12\) or a name \(JAN-DEC\)$/);
  });

  it('warns when a 6-field expression fires more often than once a minute, and only then', () => {
    expect(cronSubMinuteWarning(parseCron('*/5 * * * * *'))).toBe(
      '"*/5 * * * * *" has 6 fields, so the first is seconds: it fires 12 times a minute. If that is not meant, write 5 fields (e.g. "*/5 * * * *")',
    );
    expect(cronSubMinuteWarning(parseCron('0,30 0 3 * * *'))).toMatch(/fires 2 times a minute/);
    for (const fine of ['0 */5 * * * *', '30 0 7 * * MON-FRI', '*/5 * * * *', '@hourly']) {
      expect(cronSubMinuteWarning(parseCron(fine)), fine).toBeUndefined();
    }
  });
});

describe('cron parsing errors', () => {
  it.each([
    ['61 * * * *', 'minute field: 61 is out of range 0-59'],
    ['* 24 * * *', 'hour field: 24 is out of range 0-23'],
    ['* * 0 * *', 'day-of-month field: 0 is out of range 1-31'],
    ['* * 32 * *', 'day-of-month field: 32 is out of range 1-31'],
    ['* * * 13 *', 'month field: 13 is out of range 1-12'],
    ['* * * * 8', 'day-of-week field: 8 is out of range 0-7'],
    ['60 * * * * *', 'second field: 60 is out of range 0-59'],
    ['* * * FOO *', 'month field: "FOO" is not a number (1-12) or a name (JAN-DEC)'],
    ['* * * * MOO', 'day-of-week field: "MOO" is not a number (0-7) or a name (SUN-SAT)'],
    ['x * * * *', 'minute field: "x" is not a number (0-59)'],
    ['*/0 * * * *', 'minute field: step 0 must be at least 1'],
    ['*/x * * * *', 'minute field: step "x" is not a whole number'],
    ['*/61 * * * *', 'minute field: step 61 is larger than the field\'s range 0-59'],
    ['30-10 * * * *', 'minute field: range 30-10 runs backwards'],
    ['1,,2 * * * *', 'minute field: empty list element in "1,,2"'],
    ['1-2-3 * * * *', 'minute field: "1-2-3" is not a valid range'],
    ['? * * * *', 'minute field: "?" is only allowed in the day-of-month and day-of-week fields'],
    ['* * * *', 'needs 5 fields'],
    ['* * * * * * *', 'got 7'],
    ['', 'cron expression is empty'],
    ['@fortnightly', 'unknown cron macro "@fortnightly"'],
    ['0 0 30 2 *', 'never matches: day-of-month 30 does not occur in FEB'],
    ['0 0 31 4,6,9,11 *', 'never matches: day-of-month 31 does not occur in APR,JUN,SEP,NOV'],
  ])('%j → %s', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(ScheduleError);
    expect(() => parseCron(expr)).toThrow(message);
  });

  it('accepts the impossible-looking ones that do occur', () => {
    expect(() => parseCron('0 0 30 2 5')).not.toThrow(); // Fridays in February (OR)
    expect(() => parseCron('0 0 29 2 *')).not.toThrow();
    expect(() => parseCron('0 0 31 1-2 *')).not.toThrow();
  });

  it('classifies elapsed-time and wall-clock schedules by the hour field', () => {
    expect(parseCron('0 * * * *').elapsedTime).toBe(true);
    expect(parseCron('0 */2 * * *').elapsedTime).toBe(true);
    expect(parseCron('0 1-23/2 * * *').elapsedTime).toBe(true);
    expect(parseCron('0 3 * * *').elapsedTime).toBe(false);
    expect(parseCron('0 9-17 * * *').elapsedTime).toBe(false);
    expect(parseCron('@hourly').elapsedTime).toBe(true);
    expect(parseCron('@daily').elapsedTime).toBe(false);
  });
});

describe('describe()', () => {
  it.each([
    ['0 3 * * *', 'Europe/London', 'every day at 03:00 (Europe/London)'],
    ['*/15 * * * *', 'Europe/London', 'every 15 minutes'],
    ['0 */2 * * *', 'UTC', 'at minute 0 past every 2nd hour'],
    ['@hourly', 'UTC', 'at minute 0 past every hour'],
    ['0 9 * * MON-FRI', 'UTC', 'on Monday through Friday at 09:00 (UTC)'],
    ['30 8,17 * * *', 'UTC', 'every day at 08:30 and 17:30 (UTC)'],
    ['0 0 1 * *', 'UTC', 'on day 1 of the month at 00:00 (UTC)'],
    ['0 0 13 * FRI', 'UTC', 'on day 13 of the month or on Friday at 00:00 (UTC)'],
    ['0 0 1 JAN *', 'UTC', 'on day 1 of the month in January at 00:00 (UTC)'],
    ['* * * * * *', 'UTC', 'every second'],
    ['*/10 * * * * *', 'UTC', 'every 10 seconds'],
    ['30 * * * * *', 'UTC', 'at second 30 past every minute'],
    ['*/5 9-17 * * 1-5', 'UTC', 'every 5 minutes during hours 9 through 17, on Monday through Friday (UTC)'],
    ['0,30 * * * *', 'UTC', 'at minutes 0 and 30 past every hour'],
    ['0 0 * * 0,6', 'UTC', 'on Sunday and Saturday at 00:00 (UTC)'],
    ['15 10 * * * *', 'UTC', 'at second 15 of minute 10 past every hour'],
  ])('%s', (expr, zone, expected) => {
    expect(CronSchedule.parse(expr, zone).describe()).toBe(expected);
  });
});

describe('cron fields in memory', () => {
  it('expressions that write a field the same way share one parsed field: 1,000 jobs hold a few dozen, not 6,000', () => {
    const before = cachedCronFields();
    const expressions = Array.from({ length: 1000 }, (_, i) => parseCron(`${i % 60} ${i % 24} * * ${i % 2 ? 'MON-FRI' : '*'}`));
    expect(cachedCronFields() - before).toBeLessThanOrEqual(60 + 24 + 4);
    expect(expressions[0]!.dayOfMonth).toBe(expressions[999]!.dayOfMonth);
    expect(expressions[1]!.minute).toBe(expressions[61]!.minute);
    expect(expressions[1]!.dayOfWeek).not.toBe(expressions[2]!.dayOfWeek);
    // Shared, and still right: each expression answers with its own fields.
    expect(expressions[7]!.minute.values).toEqual([7]);
    expect(expressions[7]!.hour.values).toEqual([7]);
    expect(expressions[7]!.dayOfWeek.values).toEqual([1, 2, 3, 4, 5]);
    expect(parseCron('*/15 * * * *').minute.values).toEqual([0, 15, 30, 45]);
    expect(parseCron('0 */15 * * * *').minute.values).toEqual([0, 15, 30, 45]);
  });
});
