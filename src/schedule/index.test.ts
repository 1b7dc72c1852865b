import { describe, expect, it, vi } from 'vitest';
import type { ScheduleSpec } from '../config/types.js';
import { CronSchedule } from './cron.js';
import { compileCheckedSchedule, compileSchedule, formatInZone, nextOccurrences, ScheduleError, scheduleProblem, scheduleWarning } from './index.js';

const at = (iso: string) => Date.parse(iso);

describe('formatInZone', () => {
  it.each([
    ['2026-03-29T01:00:00Z', 'Europe/London', '2026-03-29T02:00:00+01:00'],
    ['2026-03-29T00:59:59Z', 'Europe/London', '2026-03-29T00:59:59+00:00'],
    ['2026-01-01T00:00:00Z', 'UTC', '2026-01-01T00:00:00+00:00'],
    ['2026-07-04T16:00:00Z', 'America/New_York', '2026-07-04T12:00:00-04:00'],
    ['2026-01-01T00:00:00Z', 'Asia/Kolkata', '2026-01-01T05:30:00+05:30'],
    ['2026-01-01T00:00:00Z', 'Australia/Lord_Howe', '2026-01-01T11:00:00+11:00'],
    ['2026-07-01T00:00:00Z', 'Australia/Lord_Howe', '2026-07-01T10:30:00+10:30'],
    ['2026-01-01T00:00:00.250Z', 'UTC', '2026-01-01T00:00:00.250+00:00'],
  ])('%s in %s → %s', (instant, zone, expected) => {
    expect(formatInZone(at(instant), zone)).toBe(expected);
  });

  it('rejects an unknown zone with a ScheduleError', () => {
    expect(() => formatInZone(0, 'Atlantis/Capital')).toThrow(ScheduleError);
  });
});

describe('compileSchedule', () => {
  it('compiles each kind', () => {
    expect(compileSchedule({ kind: 'cron', expr: '0 3 * * *' }, 'Europe/London').describe()).toBe('every day at 03:00 (Europe/London)');
    expect(compileSchedule({ kind: 'every', everyMs: 900_000, anchor: 0 }, 'Europe/London').describe()).toBe('every 15 minutes');
    expect(compileSchedule({ kind: 'rrule', rule: 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9' }, 'Europe/London').describe()).toBe(
      'every week on Monday at 09:00 (Europe/London)',
    );
  });

  it.each<[ScheduleSpec, string, string]>([
    [{ kind: 'cron', expr: '61 * * * *' }, 'UTC', 'minute field: 61 is out of range 0-59'],
    [{ kind: 'cron', expr: '0 0 30 2 *' }, 'UTC', 'never matches'],
    [{ kind: 'every', everyMs: 500, anchor: 0 }, 'UTC', 'every: interval must be at least 1s'],
    [{ kind: 'rrule', rule: 'FREQ=SOMETIMES' }, 'UTC', 'rrule: FREQ=SOMETIMES is not one of'],
    [{ kind: 'cron', expr: '0 3 * * *' }, 'Europe/Londres', 'unknown time zone "Europe/Londres"'],
    [{ kind: 'every', everyMs: 60_000, anchor: 0 }, 'Not/AZone', 'unknown time zone "Not/AZone"'],
    [{ kind: 'sometimes' } as unknown as ScheduleSpec, 'UTC', 'unknown schedule kind "sometimes"'],
  ])('%j in %s fails with "%s"', (spec, zone, message) => {
    expect(() => compileSchedule(spec, zone)).toThrow(ScheduleError);
    expect(() => compileSchedule(spec, zone)).toThrow(message);
    expect(scheduleProblem(spec, zone)).toContain(message);
  });

  it('scheduleProblem is undefined for a good schedule', () => {
    expect(scheduleProblem({ kind: 'cron', expr: '@daily' }, 'Asia/Kolkata')).toBeUndefined();
    expect(scheduleProblem({ kind: 'rrule', rule: 'DTSTART;TZID=Europe/London:20260101T090000\nRRULE:FREQ=DAILY' }, 'UTC')).toBeUndefined();
  });
});

describe('compileCheckedSchedule', () => {
  it('reuses what the config check compiled for the same spec object: one compile per job at start', () => {
    const parse = vi.spyOn(CronSchedule, 'parse');
    try {
      const spec: ScheduleSpec = { kind: 'cron', expr: '*/10 * * * * *' };
      expect(scheduleProblem(spec, 'Europe/London')).toBeUndefined();
      expect(scheduleWarning(spec)).toBe(scheduleWarning({ ...spec }));
      const schedule = compileCheckedSchedule(spec, 'Europe/London');
      expect(parse).toHaveBeenCalledTimes(1);
      expect(compileCheckedSchedule(spec, 'Europe/London')).toBe(schedule);
      // Another zone, or an equal spec that was never checked, is compiled.
      expect(compileCheckedSchedule(spec, 'UTC')).not.toBe(schedule);
      expect(compileCheckedSchedule({ ...spec }, 'Europe/London').describe()).toBe(schedule.describe());
      expect(parse).toHaveBeenCalledTimes(3);
    } finally {
      parse.mockRestore();
    }
  });
});

describe('scheduleProblem within one check', () => {
  it('compiles a rule repeated by many jobs once, and keeps nothing after the check', async () => {
    const rule = 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=6';
    const specs: ScheduleSpec[] = Array.from({ length: 5 }, () => ({ kind: 'rrule', rule }));
    for (const spec of specs) expect(scheduleProblem(spec, 'Europe/London')).toBeUndefined();
    const first = compileCheckedSchedule(specs[0]!, 'Europe/London');
    for (const spec of specs) expect(compileCheckedSchedule(spec, 'Europe/London')).toBe(first);
    // Another zone or another text is its own schedule; a bad rule fails each time with the same message.
    const other: ScheduleSpec = { kind: 'rrule', rule };
    expect(scheduleProblem(other, 'UTC')).toBeUndefined();
    expect(compileCheckedSchedule(other, 'UTC')).not.toBe(first);
    const bad = scheduleProblem({ kind: 'rrule', rule: 'FREQ=SOMETIMES' }, 'UTC');
    expect(bad).toMatch(/FREQ=SOMETIMES/);
    expect(scheduleProblem({ kind: 'rrule', rule: 'FREQ=SOMETIMES' }, 'UTC')).toBe(bad);
    await Promise.resolve();
    const later: ScheduleSpec = { kind: 'rrule', rule };
    expect(scheduleProblem(later, 'Europe/London')).toBeUndefined();
    expect(compileCheckedSchedule(later, 'Europe/London')).not.toBe(first);
  });
});

describe('nextOccurrences', () => {
  it('lists the next occurrences after a time', () => {
    const found = nextOccurrences({ kind: 'cron', expr: '0 3 * * *' }, 'Europe/London', { after: at('2026-03-27T12:00:00Z'), count: 3 });
    expect(found.map((t) => formatInZone(t, 'Europe/London'))).toEqual(['2026-03-28T03:00:00+00:00', '2026-03-29T03:00:00+01:00', '2026-03-30T03:00:00+01:00']);
  });

  it('stops early when a rule ends', () => {
    const found = nextOccurrences({ kind: 'rrule', rule: 'DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY;COUNT=2' }, 'UTC', { after: 0, count: 5 });
    expect(found).toEqual([at('2026-01-01T09:00:00Z'), at('2026-01-02T09:00:00Z')]);
  });

  it('is a pure function of its inputs', () => {
    const spec: ScheduleSpec = { kind: 'every', everyMs: 3_600_000, anchor: at('2026-01-01T00:30:00Z') };
    const options = { after: at('2026-02-01T10:00:00Z'), count: 2 };
    expect(nextOccurrences(spec, 'UTC', options)).toEqual([at('2026-02-01T10:30:00Z'), at('2026-02-01T11:30:00Z')]);
    expect(nextOccurrences(spec, 'UTC', options)).toEqual(nextOccurrences(spec, 'UTC', options));
  });
});
