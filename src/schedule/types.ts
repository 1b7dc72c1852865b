/**
 * The compiled form every schedule kind (cron, every, rrule) shares. All
 * methods are pure functions of their arguments: no hidden clock.
 * Occurrences are epoch milliseconds.
 */
export interface Schedule {
  /** First occurrence strictly after `after` (epoch ms), or undefined if none (rule ended). */
  next(after: number): number | undefined;
  /** Newest occurrence <= `atOrBefore`, or undefined. Needed by the catch-up planner. */
  previous(atOrBefore: number): number | undefined;
  /** Occurrences in (after, until], oldest first, at most `limit`. */
  between(after: number, until: number, limit: number): number[];
  /**
   * How many occurrences fall in (after, until]. Schedules that must iterate
   * stop at `cap` and set `capped` when more exist; `every` counts exactly by
   * arithmetic. Optional so simple test doubles need not implement it (the
   * catch-up planner falls back to `between`).
   */
  countBetween?(after: number, until: number, cap: number): { count: number; capped: boolean };
  /** Human words: "every day at 03:00 (Europe/London)", "every 15 minutes", "at minute 0 past every 2nd hour". */
  describe(): string;
}

/** A schedule that cannot be compiled: bad cron/rrule text, unknown zone, too-short interval. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}
