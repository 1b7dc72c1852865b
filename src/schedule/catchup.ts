/**
 * The catch-up planner: given the last occurrence already handled and the
 * current time, decide which runs to create. Pure: no clock, no store.
 *
 * Occurrences in (lastHandled, now] are due. One within `onTimeWindowMs` of
 * `now` is on time: an ordinary scheduled run under every policy. Older ones
 * were missed (the Pi was off, the process was stopped) and the policy says
 * what to do with them:
 *   none   → skipped;
 *   latest → one run for the newest due occurrence, standing for all of them;
 *   all    → one run each, oldest first, at most `maxCatchup`: the newest are
 *            kept and the dropped older ones are folded into the first kept
 *            run's `occurrences`, so the sum of `occurrences` is always the
 *            number of due occurrences.
 * A job seen for the first time (`lastHandled` undefined) backfills nothing.
 */
import type { Schedule } from './types.js';

export interface PlannedRun {
  scheduledFor: number;
  /** How many due occurrences this run stands for (>= 1). */
  occurrences: number;
  trigger: 'schedule' | 'catchup';
}

export interface CatchupPlan {
  /** Oldest first. */
  runs: PlannedRun[];
  /** Store this as the job's new `lastHandled`: the newest due occurrence, else the old value (`now` on first sight). */
  handledThrough: number | undefined;
  /** Due occurrences that were not on time (whether they were then caught up or skipped). */
  missed: number;
  /** Counting stopped at CATCHUP_COUNT_CAP; `occurrences` and `missed` are then lower bounds. */
  countCapped: boolean;
}

export interface CatchupInput {
  schedule: Schedule;
  lastHandled: number | undefined;
  now: number;
  policy: 'none' | 'latest' | 'all';
  maxCatchup: number;
  /** An occurrence at most this old is on time. Default 60 s. */
  onTimeWindowMs?: number;
}

export const DEFAULT_ON_TIME_WINDOW_MS = 60_000;
/** Most occurrences counted one by one (a year of every-second cron is 31.5 million). */
export const CATCHUP_COUNT_CAP = 100_000;

export function planCatchup(input: CatchupInput): CatchupPlan {
  const { schedule, lastHandled, now, policy } = input;
  if (lastHandled === undefined) return { runs: [], handledThrough: now, missed: 0, countCapped: false };
  const nothing: CatchupPlan = { runs: [], handledThrough: lastHandled, missed: 0, countCapped: false };
  // A clock behind the last handled time (a Pi before NTP sync) plans nothing; the scheduler reports it.
  if (!(now > lastHandled)) return nothing;
  const newest = schedule.previous(now);
  if (newest === undefined || newest <= lastHandled) return nothing;

  const window = input.onTimeWindowMs ?? DEFAULT_ON_TIME_WINDOW_MS;
  const maxRuns = Number.isFinite(input.maxCatchup) ? Math.max(1, Math.floor(input.maxCatchup)) : 1;
  const isOnTime = (occurrence: number) => now - occurrence <= window;
  const due = countOccurrences(schedule, lastHandled, now);
  const dueCount = Math.max(due.count, 1);
  // Occurrences are whole milliseconds, so "at least now - window" is "after now - window - 1".
  const onTimeCount = Math.min(dueCount, countOccurrences(schedule, Math.max(lastHandled, now - window - 1), now).count);
  const base = { handledThrough: newest, missed: dueCount - onTimeCount, countCapped: due.capped };

  switch (policy) {
    case 'none': {
      const onTime = newestOccurrences(schedule, newest, lastHandled, Math.min(onTimeCount, maxRuns)).filter(isOnTime);
      return { ...base, runs: onTime.map((at) => ({ scheduledFor: at, occurrences: 1, trigger: 'schedule' })) };
    }
    case 'latest':
      // One run standing for missed occurrences is a catch-up, even when the newest is on time: the
      // dashboard and `hearth runs` should show that the Pi was off, not an ordinary tick.
      return { ...base, runs: [{ scheduledFor: newest, occurrences: dueCount, trigger: base.missed > 0 ? 'catchup' : 'schedule' }] };
    case 'all': {
      const kept = newestOccurrences(schedule, newest, lastHandled, Math.min(dueCount, maxRuns));
      const runs: PlannedRun[] = kept.map((at) => ({ scheduledFor: at, occurrences: 1, trigger: isOnTime(at) ? 'schedule' : 'catchup' }));
      runs[0]!.occurrences += dueCount - kept.length;
      return { ...base, runs };
    }
  }
}

function countOccurrences(schedule: Schedule, after: number, until: number): { count: number; capped: boolean } {
  if (schedule.countBetween) return schedule.countBetween(after, until, CATCHUP_COUNT_CAP);
  const found = schedule.between(after, until, CATCHUP_COUNT_CAP + 1).length;
  return found > CATCHUP_COUNT_CAP ? { count: CATCHUP_COUNT_CAP, capped: true } : { count: found, capped: false };
}

/** Up to `limit` occurrences in (lastHandled, newest], walking back from `newest`; returned oldest first. */
function newestOccurrences(schedule: Schedule, newest: number, lastHandled: number, limit: number): number[] {
  const found: number[] = [];
  for (let at: number | undefined = newest; at !== undefined && at > lastHandled && found.length < limit; at = schedule.previous(at - 1)) {
    found.push(at);
  }
  return found.reverse();
}
