import { describe, expect, it } from 'vitest';
import { EverySchedule } from './every.js';
import { compileSchedule, formatInZone } from './index.js';
import { ScheduleError } from './types.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const MINUTE = 60_000;
const HOUR = 3_600_000;

describe('every', () => {
  it('fires on the grid anchor + k × interval, strictly after `after`', () => {
    const schedule = new EverySchedule(15 * MINUTE);
    expect(iso(schedule.next(at('2026-05-01T10:07:00Z')))).toBe('2026-05-01T10:15:00.000Z');
    expect(iso(schedule.next(at('2026-05-01T10:15:00Z')))).toBe('2026-05-01T10:30:00.000Z');
    expect(iso(schedule.previous(at('2026-05-01T10:15:00Z')))).toBe('2026-05-01T10:15:00.000Z');
    expect(iso(schedule.previous(at('2026-05-01T10:14:59.999Z')))).toBe('2026-05-01T10:00:00.000Z');
  });

  it('takes its phase from the anchor, so restarts never drift', () => {
    const schedule = new EverySchedule(HOUR, at('2026-01-01T00:05:00Z'));
    expect(iso(schedule.next(at('2026-03-01T12:00:00Z')))).toBe('2026-03-01T12:05:00.000Z');
    expect(iso(schedule.next(at('2026-03-01T12:04:59.123Z')))).toBe('2026-03-01T12:05:00.000Z');
    // A grid anchored in the future extends backwards too.
    const future = new EverySchedule(24 * HOUR, at('2030-01-01T00:00:00Z'));
    expect(iso(future.next(at('2026-01-01T00:00:00.001Z')))).toBe('2026-01-02T00:00:00.000Z');
  });

  it('is pure elapsed time: the zone only changes how results print', () => {
    const london = compileSchedule({ kind: 'every', everyMs: HOUR, anchor: 0 }, 'Europe/London');
    const kolkata = compileSchedule({ kind: 'every', everyMs: HOUR, anchor: 0 }, 'Asia/Kolkata');
    const from = at('2026-10-24T23:30:00Z');
    const occurrences = london.between(from, from + 3 * HOUR, 10);
    expect(kolkata.between(from, from + 3 * HOUR, 10)).toEqual(occurrences);
    // Every real hour through the London fall-back: local 01:00 shows up twice.
    expect(occurrences.map((t) => formatInZone(t, 'Europe/London'))).toEqual([
      '2026-10-25T01:00:00+01:00',
      '2026-10-25T01:00:00+00:00',
      '2026-10-25T02:00:00+00:00',
    ]);
  });

  it('between() is (after, until], limited', () => {
    const schedule = new EverySchedule(10 * MINUTE);
    const from = at('2026-01-01T00:00:00Z');
    expect(schedule.between(from, from + 30 * MINUTE, 10).map(iso)).toEqual([
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T00:30:00.000Z',
    ]);
    expect(schedule.between(from, from + 30 * MINUTE, 2)).toHaveLength(2);
    expect(schedule.between(from, from + 5 * MINUTE, 10)).toEqual([]);
  });

  it('counts a year of minutes exactly, by arithmetic, whatever the cap', () => {
    const schedule = new EverySchedule(MINUTE);
    expect(schedule.countBetween(at('2025-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 100)).toEqual({ count: 525_600, capped: false });
    expect(schedule.countBetween(at('2025-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z'), 100)).toEqual({ count: 0, capped: false });
    expect(schedule.countBetween(at('2025-01-01T00:00:30Z'), at('2025-01-01T00:03:00Z'), 100)).toEqual({ count: 3, capped: false });
  });

  it.each([
    [1_000, 'every second'],
    [1_500, 'every 1.5 seconds'],
    [45_000, 'every 45 seconds'],
    [15 * MINUTE, 'every 15 minutes'],
    [90 * MINUTE, 'every 90 minutes'],
    [HOUR, 'every hour'],
    [6 * HOUR, 'every 6 hours'],
    [24 * HOUR, 'every day'],
    [14 * 24 * HOUR, 'every 2 weeks'],
  ])('describes %d ms as "%s"', (ms, words) => {
    expect(new EverySchedule(ms).describe()).toBe(words);
  });

  it('rejects intervals under a second and non-finite values', () => {
    expect(() => new EverySchedule(999)).toThrow(ScheduleError);
    expect(() => new EverySchedule(999)).toThrow('every: interval must be at least 1s, got 999ms');
    expect(() => new EverySchedule(Number.NaN)).toThrow(ScheduleError);
    expect(() => new EverySchedule(MINUTE, Number.POSITIVE_INFINITY)).toThrow('every: anchor must be a finite epoch time');
  });
});
