import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FREQ, rruleLib } from './rrule-lib.js';

const loadedRRule = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => /[\\/]node_modules[\\/]rrule[\\/]/.test(path));

describe('rrule on first use', () => {
  it('cron and every schedules compile and plan without loading the rrule package; an rrule schedule loads it', async () => {
    const { compileSchedule } = await import('./index.js');
    const from = Date.UTC(2026, 0, 1);
    expect(compileSchedule({ kind: 'cron', expr: '0 3 * * *' }, 'UTC').next(from)).toBe(Date.UTC(2026, 0, 1, 3));
    expect(compileSchedule({ kind: 'every', everyMs: 3_600_000, anchor: 0 }, 'UTC').next(from)).toBeGreaterThan(from);
    expect(loadedRRule()).toEqual([]);
    expect(compileSchedule({ kind: 'rrule', rule: 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=4;BYMINUTE=0;BYSECOND=0' }, 'UTC').next(from)).toBe(Date.UTC(2026, 0, 5, 4));
    expect(loadedRRule()).not.toEqual([]);
  });

  it("FREQ names rrule's Frequency values", () => {
    const { Frequency } = rruleLib();
    expect(FREQ).toEqual({
      YEARLY: Frequency.YEARLY,
      MONTHLY: Frequency.MONTHLY,
      WEEKLY: Frequency.WEEKLY,
      DAILY: Frequency.DAILY,
      HOURLY: Frequency.HOURLY,
      MINUTELY: Frequency.MINUTELY,
      SECONDLY: Frequency.SECONDLY,
    });
  });
});
