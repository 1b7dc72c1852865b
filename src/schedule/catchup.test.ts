import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATCHUP_COUNT_CAP, planCatchup, type CatchupInput, type CatchupPlan } from './catchup.js';
import { CronSchedule } from './cron.js';
import { EverySchedule } from './every.js';
import type { Schedule } from './types.js';

const at = (iso: string) => Date.parse(iso);
const MINUTE = 60_000;
const HOUR = 3_600_000;
const hourly = new EverySchedule(HOUR);

/** A schedule that is just a sorted list of occurrences; no countBetween, so the planner's fallback is used. */
function listSchedule(occurrences: readonly number[]): Schedule {
  const sorted = [...new Set(occurrences)].sort((a, b) => a - b);
  return {
    next: (after) => sorted.find((t) => t > after),
    previous: (atOrBefore) => sorted.findLast((t) => t <= atOrBefore),
    between: (after, until, limit) => sorted.filter((t) => t > after && t <= until).slice(0, limit),
    describe: () => `${sorted.length} fixed times`,
  };
}

function plan(overrides: Partial<CatchupInput> & Pick<CatchupInput, 'lastHandled' | 'now'>): CatchupPlan {
  return planCatchup({ schedule: hourly, policy: 'latest', maxCatchup: 24, ...overrides });
}

const run = (scheduledFor: string, occurrences: number, trigger: 'schedule' | 'catchup') => ({ scheduledFor: at(scheduledFor), occurrences, trigger });

describe('planCatchup examples', () => {
  it('backfills nothing for a job seen for the first time', () => {
    expect(plan({ lastHandled: undefined, now: at('2026-01-01T15:30:00Z'), policy: 'all' })).toEqual({
      runs: [],
      handledThrough: at('2026-01-01T15:30:00Z'),
      missed: 0,
      countCapped: false,
    });
  });

  it('plans nothing when nothing is due', () => {
    expect(plan({ lastHandled: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T10:59:59Z') })).toEqual({
      runs: [],
      handledThrough: at('2026-01-01T10:00:00Z'),
      missed: 0,
      countCapped: false,
    });
  });

  it('plans nothing when the clock is behind the last handled time (stale clock at boot)', () => {
    expect(plan({ lastHandled: at('2026-01-01T10:00:00Z'), now: at('2025-06-01T00:00:00Z') }).runs).toEqual([]);
    expect(plan({ lastHandled: at('2026-01-01T10:00:00Z'), now: at('2025-06-01T00:00:00Z') }).handledThrough).toBe(at('2026-01-01T10:00:00Z'));
  });

  it.each(['none', 'latest', 'all'] as const)('runs an on-time occurrence normally under %s', (policy) => {
    expect(plan({ lastHandled: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T11:00:30Z'), policy })).toEqual({
      runs: [run('2026-01-01T11:00:00Z', 1, 'schedule')],
      handledThrough: at('2026-01-01T11:00:00Z'),
      missed: 0,
      countCapped: false,
    });
  });

  describe('five missed hours (11:00-15:00), none on time', () => {
    const base = { lastHandled: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T15:30:00Z') };
    it('none skips them', () => {
      expect(plan({ ...base, policy: 'none' })).toEqual({ runs: [], handledThrough: at('2026-01-01T15:00:00Z'), missed: 5, countCapped: false });
    });
    it('latest runs the newest once, standing for all five', () => {
      expect(plan({ ...base, policy: 'latest' }).runs).toEqual([run('2026-01-01T15:00:00Z', 5, 'catchup')]);
    });
    it('all runs each, oldest first', () => {
      expect(plan({ ...base, policy: 'all' }).runs).toEqual([
        run('2026-01-01T11:00:00Z', 1, 'catchup'),
        run('2026-01-01T12:00:00Z', 1, 'catchup'),
        run('2026-01-01T13:00:00Z', 1, 'catchup'),
        run('2026-01-01T14:00:00Z', 1, 'catchup'),
        run('2026-01-01T15:00:00Z', 1, 'catchup'),
      ]);
    });
    it('all keeps the newest maxCatchup and folds the rest into the first kept run', () => {
      expect(plan({ ...base, policy: 'all', maxCatchup: 2 }).runs).toEqual([run('2026-01-01T14:00:00Z', 4, 'catchup'), run('2026-01-01T15:00:00Z', 1, 'catchup')]);
    });
  });

  describe('missed hours plus one on time (15:00, 20 s ago)', () => {
    const base = { lastHandled: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T15:00:20Z') };
    it('none still runs the on-time one', () => {
      expect(plan({ ...base, policy: 'none' })).toEqual({
        runs: [run('2026-01-01T15:00:00Z', 1, 'schedule')],
        handledThrough: at('2026-01-01T15:00:00Z'),
        missed: 4,
        countCapped: false,
      });
    });
    it('latest marks its single run as a catch-up: it stands for the four missed hours too', () => {
      expect(plan({ ...base, policy: 'latest' }).runs).toEqual([run('2026-01-01T15:00:00Z', 5, 'catchup')]);
    });
    it('all catches up older ones and schedules the on-time one', () => {
      expect(plan({ ...base, policy: 'all', maxCatchup: 3 }).runs).toEqual([
        run('2026-01-01T13:00:00Z', 3, 'catchup'),
        run('2026-01-01T14:00:00Z', 1, 'catchup'),
        run('2026-01-01T15:00:00Z', 1, 'schedule'),
      ]);
    });
    it('a custom on-time window changes what counts as on time', () => {
      expect(plan({ ...base, policy: 'latest', onTimeWindowMs: 10_000 }).runs).toEqual([run('2026-01-01T15:00:00Z', 5, 'catchup')]);
      expect(plan({ ...base, policy: 'none', onTimeWindowMs: 2 * HOUR }).runs.map((r) => r.scheduledFor)).toEqual([
        at('2026-01-01T14:00:00Z'),
        at('2026-01-01T15:00:00Z'),
      ]);
    });
  });

  it('counts a year off with every: 1m exactly and cheaply', () => {
    const input = { schedule: new EverySchedule(MINUTE), lastHandled: at('2025-01-01T00:00:00Z'), now: at('2026-01-01T00:00:30Z'), maxCatchup: 24 };
    const latest = planCatchup({ ...input, policy: 'latest' });
    expect(latest).toEqual({ runs: [run('2026-01-01T00:00:00Z', 525_600, 'catchup')], handledThrough: at('2026-01-01T00:00:00Z'), missed: 525_599, countCapped: false });
    const all = planCatchup({ ...input, policy: 'all' });
    expect(all.runs).toHaveLength(24);
    expect(all.runs[0]).toEqual(run('2025-12-31T23:37:00Z', 525_600 - 23, 'catchup'));
    expect(all.runs.reduce((sum, r) => sum + r.occurrences, 0)).toBe(525_600);
  });

  it('caps counting for a year off with an every-second cron', () => {
    const input = { schedule: CronSchedule.parse('* * * * * *', 'Europe/London'), lastHandled: at('2025-01-01T00:00:00Z'), now: at('2026-01-01T00:00:00Z'), maxCatchup: 5 };
    const latest = planCatchup({ ...input, policy: 'latest' });
    expect(latest.countCapped).toBe(true);
    expect(latest.runs).toEqual([run('2026-01-01T00:00:00Z', CATCHUP_COUNT_CAP, 'catchup')]);
    const all = planCatchup({ ...input, policy: 'all' });
    expect(all.runs.map((r) => r.scheduledFor)).toEqual([at('2025-12-31T23:59:56Z'), at('2025-12-31T23:59:57Z'), at('2025-12-31T23:59:58Z'), at('2025-12-31T23:59:59Z'), at('2026-01-01T00:00:00Z')]);
    expect(all.runs.reduce((sum, r) => sum + r.occurrences, 0)).toBe(CATCHUP_COUNT_CAP);
  });

  it('works with schedules that only implement the four required methods', () => {
    const schedule = listSchedule([at('2026-01-01T01:00:00Z'), at('2026-01-01T02:00:00Z'), at('2026-01-01T03:00:00Z')]);
    expect(planCatchup({ schedule, lastHandled: at('2026-01-01T00:00:00Z'), now: at('2026-01-01T05:00:00Z'), policy: 'latest', maxCatchup: 1 })).toEqual({
      runs: [run('2026-01-01T03:00:00Z', 3, 'catchup')],
      handledThrough: at('2026-01-01T03:00:00Z'),
      missed: 3,
      countCapped: false,
    });
  });

  it('treats maxCatchup below 1 as 1', () => {
    expect(plan({ lastHandled: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T15:30:00Z'), policy: 'all', maxCatchup: 0 }).runs).toEqual([
      run('2026-01-01T15:00:00Z', 5, 'catchup'),
    ]);
  });
});

describe('planCatchup properties', () => {
  const T0 = at('2026-01-01T00:00:00Z');
  const occurrenceLists = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 }).map((offsets) => offsets.map((s) => T0 + s * 1000));
  const realSchedules = fc.oneof(
    fc.tuple(fc.integer({ min: 10, max: 3_600 }), fc.integer({ min: 0, max: 3_600 })).map(([seconds, anchor]) => new EverySchedule(seconds * 1000, T0 + anchor * 1000) as Schedule),
    fc.constantFrom('*/5 * * * *', '0 * * * *', '*/30 * * * * *', '15 0-2 * * *').map((expr) => CronSchedule.parse(expr, 'America/New_York') as Schedule),
  );
  const inputs = fc.record({
    schedule: fc.oneof(occurrenceLists.map(listSchedule), realSchedules),
    lastHandledOffset: fc.integer({ min: 0, max: 10_000 }),
    span: fc.integer({ min: -100, max: 10_000 }),
    policy: fc.constantFrom('none', 'latest', 'all') as fc.Arbitrary<'none' | 'latest' | 'all'>,
    maxCatchup: fc.integer({ min: 1, max: 8 }),
    onTimeWindowMs: fc.integer({ min: 0, max: 600_000 }),
  });

  it('keeps every promise of the contract', () => {
    fc.assert(
      fc.property(inputs, ({ schedule, lastHandledOffset, span, policy, maxCatchup, onTimeWindowMs }) => {
        const lastHandled = T0 + lastHandledOffset * 1000;
        const now = lastHandled + span * 1000;
        const result = planCatchup({ schedule, lastHandled, now, policy, maxCatchup, onTimeWindowMs });
        const due = now > lastHandled ? schedule.between(lastHandled, now, 1_000_000) : [];
        const onTime = due.filter((t) => now - t <= onTimeWindowMs);
        const times = result.runs.map((r) => r.scheduledFor);

        // Never more runs than allowed, never the same occurrence twice, oldest first.
        if (policy === 'all') expect(result.runs.length).toBeLessThanOrEqual(maxCatchup);
        if (policy === 'latest') expect(result.runs.length).toBeLessThanOrEqual(1);
        for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
        // Only due occurrences: after lastHandled, not after now, and real occurrences.
        for (const t of times) {
          expect(t).toBeGreaterThan(lastHandled);
          expect(t).toBeLessThanOrEqual(now);
          expect(due).toContain(t);
        }
        // Triggers say whether the occurrence was on time; latest's single run is a catch-up when it stands for missed ones.
        for (const r of result.runs) {
          const onTimeRun = now - r.scheduledFor <= onTimeWindowMs;
          expect(r.trigger).toBe(policy === 'latest' ? (result.missed > 0 ? 'catchup' : 'schedule') : onTimeRun ? 'schedule' : 'catchup');
        }
        // Counting.
        const total = result.runs.reduce((sum, r) => sum + r.occurrences, 0);
        if (policy === 'none') {
          expect(result.runs.every((r) => r.trigger === 'schedule' && r.occurrences === 1)).toBe(true);
          expect(times).toEqual(onTime.slice(-maxCatchup));
        } else {
          expect(total).toBe(due.length);
          if (due.length > 0) expect(result.runs.length).toBe(policy === 'latest' ? 1 : Math.min(due.length, maxCatchup));
        }
        expect(result.missed).toBe(due.length - onTime.length);
        expect(result.handledThrough).toBe(due.length > 0 ? due[due.length - 1] : lastHandled);
        expect(result.countCapped).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
