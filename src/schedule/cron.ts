/**
 * Cron occurrences in an IANA time zone.
 *
 * DST rules (product decisions):
 *  - Elapsed-time schedules (the hour field is `*` or stepped) fire on real
 *    instants whose local reading matches: local times skipped by a
 *    spring-forward simply do not happen, and local times repeated by a
 *    fall-back fire twice (`*\/15 * * * *` fires every 15 real minutes all night).
 *  - Wall-clock schedules (fixed hours) fire once per matching local time: a
 *    match inside a gap fires at the first instant after the gap (several
 *    matches in one gap, and a real match at that instant, are one fire), and a
 *    repeated local time fires only at its first occurrence.
 * Results are strictly increasing and whole seconds.
 *
 * Impossible expressions (`0 0 30 2 *`) are rejected by the parser with a
 * ScheduleError; as a second guard every calendar search stops after
 * SEARCH_YEARS and then reports no occurrence (`next()` returns undefined).
 *
 * The walk goes forward through stretches of constant UTC offset: inside one,
 * local time runs in step with real time, so the next match is plain calendar
 * math on naive local time (`nextLocalMatch`), and only offset changes need
 * the rules above. `previous()` bisects over `next()`, so both always agree.
 */
import { parseCron, type CronExpression } from './cron-parse.js';
import { daysInMonth } from './calendar.js';
import { describeCron } from './cron-describe.js';
import { previousByBisection } from './search.js';
import type { Schedule } from './types.js';
import { DAY_MS, OffsetTimeline, offsetAt, recentTransition, SECOND_MS } from './zone.js';

/**
 * Bounds every calendar search. Impossible expressions are rejected by the
 * parser, and the rarest possible one (29 February) recurs within 8 years,
 * so this bound only stops a search that could never succeed anyway.
 */
const SEARCH_YEARS = 10;
const LOOK_BACK_MS = 12 * 366 * 86_400_000;
/** A next match further ahead than this (in local time) is reached by a jump, see `jumpTowards`. */
const JUMP_THRESHOLD_MS = 6 * DAY_MS;
const JUMP_MARGIN_MS = 2 * DAY_MS;
/** Offset changes a single search may cross (≈2 a year over the search bound, with room to spare). */
const MAX_TRANSITIONS_PER_SEARCH = 64;

/** Vixie semantics: both day fields restricted ⇒ either may match; otherwise the restricted one alone decides. */
function dayMatches(cron: CronExpression, year: number, month: number, day: number): boolean {
  const monthDayRestricted = !cron.dayOfMonth.isFull;
  const weekdayRestricted = !cron.dayOfWeek.isFull;
  if (!monthDayRestricted && !weekdayRestricted) return true;
  const monthDayOk = cron.dayOfMonth.has(day);
  if (!weekdayRestricted) return monthDayOk;
  const weekdayOk = cron.dayOfWeek.has(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  if (!monthDayRestricted) return weekdayOk;
  return monthDayOk || weekdayOk;
}

/**
 * The first naive local time (whole seconds) at or after `naive` that matches
 * every field, or undefined if none within SEARCH_YEARS. Pure calendar math.
 */
export function nextLocalMatch(cron: CronExpression, naive: number): number | undefined {
  const start = new Date(Math.ceil(naive / SECOND_MS) * SECOND_MS);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  let second = start.getUTCSeconds();
  const lastYear = year + SEARCH_YEARS;
  for (;;) {
    if (second > 59) { second = 0; minute++; }
    if (minute > 59) { minute = 0; hour++; }
    if (hour > 23) { hour = 0; day++; }
    if (day > daysInMonth(year, month)) { day = 1; month++; }
    if (month > 12) { month = 1; year++; }
    if (year > lastYear) return undefined;

    if (!cron.month.has(month)) {
      const nextMonth = cron.month.atOrAfter(month);
      if (nextMonth === undefined) { year++; month = cron.month.first; } else month = nextMonth;
      day = 1; hour = 0; minute = 0; second = 0;
      continue;
    }
    if (!dayMatches(cron, year, month, day)) {
      day++; hour = 0; minute = 0; second = 0;
      continue;
    }
    if (!cron.hour.has(hour)) {
      const nextHour = cron.hour.atOrAfter(hour);
      if (nextHour === undefined) { day++; hour = 0; } else hour = nextHour;
      minute = 0; second = 0;
      continue;
    }
    if (!cron.minute.has(minute)) {
      const nextMinute = cron.minute.atOrAfter(minute);
      if (nextMinute === undefined) { hour++; minute = 0; } else minute = nextMinute;
      second = 0;
      continue;
    }
    if (!cron.second.has(second)) {
      const nextSecond = cron.second.atOrAfter(second);
      if (nextSecond === undefined) { minute++; second = 0; continue; }
      second = nextSecond;
    }
    return Date.UTC(year, month - 1, day, hour, minute, second);
  }
}

/** Smallest whole second strictly after `instant`. */
function wholeSecondAfter(instant: number): number {
  return Math.floor(instant / SECOND_MS) * SECOND_MS + SECOND_MS;
}

/**
 * Yields a cron expression's occurrences after a given instant, in order.
 * Keeps its place (and the verified offset stretch) between calls, so
 * iterating a dense schedule is cheap.
 */
export class CronWalker {
  private readonly timeline: OffsetTimeline;
  /** Next instant to consider (whole second). */
  private cursor: number;
  /** Wall-clock only: local times below this were already fired before a fall-back. */
  private localFloor = Number.NEGATIVE_INFINITY;
  /** Wall-clock only: a gap fire exactly at the starting instant. */
  private pendingGapFire: number | undefined;

  constructor(private readonly cron: CronExpression, timeZone: string, after: number) {
    this.timeline = new OffsetTimeline(timeZone);
    this.cursor = wholeSecondAfter(after);
    if (!cron.elapsedTime) this.lookBehind(timeZone);
  }

  /**
   * Starting mid-way, a wall-clock walk must know whether the start sits in
   * the second pass of a fall-back (those local times already fired) or
   * exactly at the end of a gap (a gap fire is due right now).
   */
  private lookBehind(timeZone: string): void {
    const transition = recentTransition(this.cursor, timeZone);
    if (!transition) return;
    if (transition.offsetAfter < transition.offsetBefore) {
      this.localFloor = transition.at + transition.offsetBefore;
    } else if (transition.at === this.cursor && this.gapHasMatch(transition.at, transition.offsetBefore, transition.offsetAfter)) {
      this.pendingGapFire = transition.at;
    }
  }

  private gapHasMatch(at: number, offsetBefore: number, offsetAfter: number): boolean {
    const match = nextLocalMatch(this.cron, at + offsetBefore);
    return match !== undefined && match < at + offsetAfter;
  }

  next(): number | undefined {
    for (let crossed = 0; crossed < MAX_TRANSITIONS_PER_SEARCH; crossed++) {
      if (this.pendingGapFire !== undefined) {
        const fire = this.pendingGapFire;
        this.pendingGapFire = undefined;
        this.cursor = fire + SECOND_MS;
        return fire;
      }
      const offset = this.timeline.offsetAt(this.cursor);
      const fromLocal = Math.max(this.cursor + offset, this.localFloor);
      const local = nextLocalMatch(this.cron, fromLocal);
      if (local === undefined) return undefined;
      const candidate = local - offset;
      if (local - fromLocal > JUMP_THRESHOLD_MS && this.timeline.changeBetween(this.cursor, this.cursor + JUMP_MARGIN_MS) === undefined) {
        this.jumpTowards(local);
        continue;
      }
      const change = this.timeline.changeBetween(this.cursor, candidate);
      if (change === undefined) {
        this.cursor = candidate + SECOND_MS;
        return candidate;
      }
      // The offset changes before the candidate: continue from the change.
      const newOffset = this.timeline.offsetAt(change);
      this.cursor = change;
      if (this.cron.elapsedTime) continue;
      if (newOffset > offset) {
        if (this.gapHasMatch(change, offset, newOffset)) this.pendingGapFire = change;
      } else {
        this.localFloor = change + offset;
      }
    }
    return undefined;
  }

  /**
   * The next match is days away: skip to two days before its local date
   * instead of checking the zone's offset every day in between. Nothing in
   * between can fire: the offset holds for the first two days (checked by the
   * caller), so every instant after that reads a local time past the start,
   * and every instant before the new cursor reads a local time more than a
   * day before the match's date (offsets never move by more than 26 hours).
   */
  private jumpTowards(local: number): void {
    const target = Math.floor(local / DAY_MS) * DAY_MS - JUMP_MARGIN_MS;
    this.cursor = Math.max(this.cursor + JUMP_MARGIN_MS, target - offsetAt(target, this.timeline.timeZone));
    this.localFloor = Number.NEGATIVE_INFINITY;
    if (!this.cron.elapsedTime) this.lookBehind(this.timeline.timeZone);
  }
}

export class CronSchedule implements Schedule {
  constructor(readonly expression: CronExpression, readonly timeZone: string) {}

  static parse(text: string, timeZone: string): CronSchedule {
    return new CronSchedule(parseCron(text), timeZone);
  }

  next(after: number): number | undefined {
    return new CronWalker(this.expression, this.timeZone, after).next();
  }

  previous(atOrBefore: number): number | undefined {
    return previousByBisection((after) => this.next(after), atOrBefore, LOOK_BACK_MS, SECOND_MS);
  }

  between(after: number, until: number, limit: number): number[] {
    const walker = new CronWalker(this.expression, this.timeZone, after);
    const found: number[] = [];
    while (found.length < limit) {
      const occurrence = walker.next();
      if (occurrence === undefined || occurrence > until) break;
      found.push(occurrence);
    }
    return found;
  }

  countBetween(after: number, until: number, cap: number): { count: number; capped: boolean } {
    const walker = new CronWalker(this.expression, this.timeZone, after);
    let count = 0;
    for (;;) {
      const occurrence = walker.next();
      if (occurrence === undefined || occurrence > until) return { count, capped: false };
      if (count >= cap) return { count, capped: true };
      count++;
    }
  }

  describe(): string {
    return describeCron(this.expression, this.timeZone);
  }
}
