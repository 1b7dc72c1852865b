/**
 * RFC 5545 recurrence rules, expanded with the `rrule` package in naive local
 * time and converted to instants here.
 *
 * Why not rrule's own `tzid` support: it converts through the host's local
 * zone and gets DST wrong. So rrule only ever sees "floating" dates (wall
 * clock encoded as UTC) and this module applies RFC 5545 §3.3.5:
 *  - a local time that occurs twice means its FIRST occurrence;
 *  - a local time that does not exist is read with the UTC offset in force
 *    BEFORE the gap: TZID=America/New_York:20070311T023000 → 03:30 EDT.
 * This differs from cron on purpose: a wall-clock cron match inside a gap
 * fires at the end of the gap (03:00 EDT), because cron has no RFC to follow
 * and "as soon as the time exists" is what people expect from cron. Because a
 * gap time can land after a later real time (02:30 → 03:30 EDT comes after
 * 03:00 EDT), results are re-sorted and de-duplicated near transitions.
 *
 * The zone the rule is expanded in: DTSTART's TZID if given, UTC for a
 * DTSTART ending in Z, otherwise the schedule's zone. Without DTSTART the
 * rule is anchored at 1970-01-01T00:00:00 local time, so results depend only
 * on the inputs (no hidden "now"); defaults rrule takes from DTSTART
 * (time of day, weekday, day of month) are therefore midnight, Thursday, the 1st.
 *
 * Speed: rrule iterates from DTSTART on every query, so for rules without
 * COUNT the DTSTART handed to rrule is moved forward by an exact multiple of
 * the rule's period (never past the point queried) that keeps every default
 * taken from DTSTART (see `shiftedStart`). COUNT rules (at most MAX_COUNT) are expanded
 * once at compile time. Searches are bounded by a horizon of at least 50
 * years; a rule with no occurrence at all within it is rejected at compile time.
 */
import type { Options, RRule as RRuleType } from 'rrule';
import { listWords } from './cron-describe.js';
import { asList, dayPatternCanMatch, periodTimeFilter, splitTimeFilters, UNIT_MS, type TimeFilter } from './rrule-filters.js';
import { parseRRuleText, type DateValue, type ParsedRRule } from './rrule-parse.js';
import { FREQ as Frequency, rruleLib } from './rrule-lib.js';
import { ScheduleError, type Schedule } from './types.js';
import {
  DAY_MS,
  SECOND_MS,
  gapAround,
  offsetAt,
  recentTransition,
  resolveLocalRfc5545,
  Rfc5545Resolver,
  toNaiveLocal,
} from './zone.js';

const MIN_HORIZON_MS = 50 * 366 * DAY_MS;
/** How far either side of a time we sample offsets to learn which ones can apply near it. */
const OFFSET_SAMPLE_MS = 2 * DAY_MS;
/** Safety bound on candidate-skipping loops (each step moves past one local time). */
const MAX_STEPS = 100_000;


function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** Adds whole months to a naive time whose day of month is at most 28 (so it always exists). */
function addMonths(naive: number, months: number): number {
  const date = new Date(naive);
  date.setUTCMonth(date.getUTCMonth() + months);
  return date.getTime();
}

function monthIndex(naive: number): number {
  const date = new Date(naive);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

export class RRuleSchedule implements Schedule {
  /** The zone local times are read in. */
  readonly zone: string;
  private readonly parsed: ParsedRRule;
  private readonly options: Partial<Options>;
  private readonly dtstart: number;
  private readonly untilNaive: number | undefined;
  private readonly excludedTimes: Set<number>;
  private readonly excludedDays: Set<number>;
  /** BYHOUR / BYMINUTE / BYSECOND applied here instead of by rrule (see splitTimeFilters). */
  private readonly timeFilter: TimeFilter | undefined;
  private readonly periodMs: number;
  private readonly horizonMs: number;
  /** COUNT rules only: every occurrence, ascending. */
  private readonly expanded: number[] | undefined;

  constructor(text: string, scheduleZone: string) {
    this.parsed = parseRRuleText(text);
    const { dtstart, until, count, freq, interval } = this.parsed;
    this.zone = dtstart?.zone ?? (dtstart?.utc ? 'UTC' : scheduleZone);
    this.dtstart = dtstart ? this.toZoneNaive(dtstart) : 0;
    this.untilNaive = until ? this.toZoneNaive(until) + (until.dateOnly ? DAY_MS - SECOND_MS : 0) : undefined;
    this.periodMs = interval * UNIT_MS[freq]!;
    // Both checks run before rrule sees the rule: rrule loops forever on the
    // first kind and walks to the year 9999 (seconds of CPU) on the second.
    const periodFilter = periodTimeFilter(this.parsed);
    if (periodFilter && !this.periodFilterCanMatch(periodFilter)) {
      throw new ScheduleError('rrule: the rule produces no occurrences (its BYHOUR/BYMINUTE/BYSECOND never line up with the INTERVAL steps from DTSTART)');
    }
    if (!dayPatternCanMatch(this.parsed, this.dtstart)) {
      throw new ScheduleError('rrule: the rule produces no occurrences (no calendar day satisfies its BYMONTH/BYMONTHDAY/BYYEARDAY/BYDAY parts)');
    }
    const { options, timeFilter } = splitTimeFilters(this.parsed, periodFilter);
    this.timeFilter = timeFilter;
    this.options = {
      ...options,
      // With a time filter applied here, COUNT must count filtered times, so expandAll applies it.
      count: timeFilter ? null : count ?? null,
      until: this.untilNaive === undefined ? null : new Date(this.untilNaive),
      tzid: null,
    };
    this.excludedTimes = new Set();
    this.excludedDays = new Set();
    for (const exdate of this.parsed.exdates) {
      const naive = this.toZoneNaive(exdate);
      if (exdate.dateOnly) this.excludedDays.add(Math.floor(naive / DAY_MS));
      else this.excludedTimes.add(naive);
    }
    this.horizonMs = Math.max(MIN_HORIZON_MS, 8 * this.periodMs);
    if (this.firstLocalAfter(this.dtstart - 1) === undefined) {
      throw new ScheduleError(`rrule: the rule produces no occurrences${dtstart ? ' from its DTSTART' : ''} (searched ${Math.round(this.horizonMs / (366 * DAY_MS))} years)`);
    }
    this.expanded = count === undefined ? undefined : this.expandAll();
  }

  /** A DTSTART / EXDATE / UNTIL value as a naive local time in this rule's zone. */
  private toZoneNaive(value: DateValue): number {
    if (value.utc) return toNaiveLocal(value.naive, this.zone);
    if (value.zone && value.zone !== this.zone) return toNaiveLocal(resolveLocalRfc5545(value.naive, value.zone), this.zone);
    return value.naive;
  }

  /**
   * The steps of a sub-daily rule repeat their times of day every
   * lcm(period, day); if none of one cycle passes the BYHOUR/BYMINUTE/BYSECOND
   * filters, none ever will (`FREQ=HOURLY;INTERVAL=8;BYHOUR=3` from 21:00).
   */
  private periodFilterCanMatch(filter: TimeFilter): boolean {
    const steps = lcm(this.periodMs, DAY_MS) / this.periodMs;
    for (let step = 0; step < steps; step++) if (filter.accepts(this.dtstart + step * this.periodMs)) return true;
    return false;
  }

  /** Dropped by EXDATE, or by a time-of-day filter rrule was not trusted with. */
  private isExcluded(naive: number): boolean {
    if (this.excludedTimes.has(naive) || this.excludedDays.has(Math.floor(naive / DAY_MS))) return true;
    return this.timeFilter !== undefined && !this.timeFilter.accepts(naive);
  }

  /**
   * The latest DTSTART at or before `target` that yields exactly the same
   * occurrences from there on: a whole number of periods (INTERVAL × FREQ),
   * which keeps the INTERVAL phase and everything rrule defaults from DTSTART
   * below the frequency's own unit: the time of day for DAILY, the minute and
   * second for HOURLY, the second for MINUTELY (SECONDLY takes nothing). Whole
   * INTERVAL-weeks keep WEEKLY's weekday; whole INTERVAL-months (or years)
   * keep MONTHLY's/YEARLY's day of month, when that day exists in every month.
   * Finer than whole days on purpose: an every-second rule then iterates a
   * few seconds, not up to a day (86,400 rrule steps, ~0.5 s on a Pi).
   */
  private shiftedStart(target: number): number {
    const base = this.dtstart;
    if (this.parsed.count !== undefined || target <= base) return base;
    const { freq, interval } = this.parsed;
    if (freq === Frequency.YEARLY || freq === Frequency.MONTHLY) {
      if (new Date(base).getUTCDate() > 28) return base;
      const stepMonths = freq === Frequency.YEARLY ? 12 * interval : interval;
      let months = Math.floor((monthIndex(target) - monthIndex(base)) / stepMonths) * stepMonths;
      if (months > 0 && addMonths(base, months) > target) months -= stepMonths;
      return months > 0 ? addMonths(base, months) : base;
    }
    const step = freq === Frequency.WEEKLY ? 7 * DAY_MS * interval : interval * UNIT_MS[freq]!;
    return base + Math.floor((target - base) / step) * step;
  }

  private ruleFrom(start: number): RRuleType {
    return new (rruleLib().RRule)({ ...this.options, dtstart: new Date(start) }, true);
  }

  /** Rule local times in [from, to], excluded ones dropped, ascending. */
  private localsIn(from: number, to: number): number[] {
    const dates = this.ruleFrom(this.shiftedStart(from)).between(new Date(from), new Date(to), true);
    return dates.map((d) => d.getTime()).filter((t) => !this.isExcluded(t));
  }

  /** The first rule local time strictly after `low`, searching windows that grow 16-fold up to the horizon. */
  private firstLocalAfter(low: number): number | undefined {
    const floor = Math.max(low, this.dtstart - 1);
    let start = floor;
    for (let width = 2 * this.periodMs; start - floor <= this.horizonMs; width *= 16) {
      const end = start + width;
      const windowStart = start;
      let found: number | undefined;
      this.ruleFrom(this.shiftedStart(windowStart)).between(new Date(windowStart), new Date(end), true, (date) => {
        const local = date.getTime();
        if (local > windowStart && !this.isExcluded(local)) {
          found = local;
          return false;
        }
        return true;
      });
      if (found !== undefined) return found;
      if (this.untilNaive !== undefined && end >= this.untilNaive) return undefined;
      start = end;
    }
    return undefined;
  }

  /** The last rule local time at or before `high`, searching back in growing windows to DTSTART. */
  private lastLocalAtOrBefore(high: number): number | undefined {
    let end = this.untilNaive === undefined ? high : Math.min(high, this.untilNaive);
    for (let width = 2 * this.periodMs; end >= this.dtstart; width *= 16) {
      const start = Math.max(end - width, this.dtstart);
      let last: number | undefined;
      this.ruleFrom(this.shiftedStart(start)).between(new Date(start), new Date(end), true, (date) => {
        const local = date.getTime();
        if (!this.isExcluded(local)) last = local;
        return true;
      });
      if (last !== undefined) return last;
      end = start - 1;
    }
    return undefined;
  }

  /** Smallest and largest UTC offset the zone uses within two days of `time`. */
  private offsetsNear(time: number): { min: number; max: number } {
    const samples = [offsetAt(time - OFFSET_SAMPLE_MS, this.zone), offsetAt(time, this.zone), offsetAt(time + OFFSET_SAMPLE_MS, this.zone)];
    return { min: Math.min(...samples), max: Math.max(...samples) };
  }

  /**
   * Every local time <= the returned bound resolves to an instant <= `after`:
   * its offset is at least the smallest one near `after`, and the hour
   * repeated by a fall-back just before `after` already happened.
   */
  private lowerLocalBound(after: number): number {
    let low = after + this.offsetsNear(after).min;
    const transition = recentTransition(after, this.zone);
    if (transition && transition.offsetAfter < transition.offsetBefore) {
      low = Math.max(low, transition.at + transition.offsetBefore - 1);
    }
    return low;
  }

  next(after: number): number | undefined {
    if (this.expanded) return this.expanded[firstIndexAbove(this.expanded, after)];
    let low = this.lowerLocalBound(after);
    for (let step = 0; step < MAX_STEPS; step++) {
      const local = this.firstLocalAfter(low);
      if (local === undefined) return undefined;
      const instant = resolveLocalRfc5545(local, this.zone);
      if (instant > after) {
        // Near a gap, a later local time can resolve to an earlier instant; look one offset-change ahead.
        const { min, max } = this.offsetsNear(local);
        if (min === max) return instant;
        const instants = this.localsIn(local, local + (max - min)).map((l) => resolveLocalRfc5545(l, this.zone));
        return Math.min(...instants.filter((t) => t > after));
      }
      low = local;
    }
    return undefined;
  }

  previous(atOrBefore: number): number | undefined {
    if (this.expanded) return this.expanded[firstIndexAbove(this.expanded, atOrBefore) - 1];
    let high = atOrBefore + this.offsetsNear(atOrBefore).max;
    for (let step = 0; step < MAX_STEPS; step++) {
      const local = this.lastLocalAtOrBefore(high);
      if (local === undefined) return undefined;
      const instant = resolveLocalRfc5545(local, this.zone);
      if (instant <= atOrBefore) {
        const { min, max } = this.offsetsNear(local);
        if (min === max) return instant;
        const instants = this.localsIn(local - (max - min), local).map((l) => resolveLocalRfc5545(l, this.zone));
        return Math.max(...instants.filter((t) => t <= atOrBefore));
      }
      high = local - 1;
      // Gap times after `local` resolve past `atOrBefore` too; skip straight to the ones that do not.
      const gap = gapAround(local, this.zone);
      if (gap) high = Math.min(high, atOrBefore + gap.offsetBefore);
    }
    return undefined;
  }

  between(after: number, until: number, limit: number): number[] {
    if (limit <= 0 || until <= after) return [];
    if (this.expanded) {
      const from = firstIndexAbove(this.expanded, after);
      return this.expanded.slice(from, Math.min(from + limit, firstIndexAbove(this.expanded, until)));
    }
    if (!Number.isFinite(until)) return this.collectByNext(after, limit);
    const low = this.lowerLocalBound(after);
    const high = until + this.offsetsNear(until).max;
    const resolver = new Rfc5545Resolver(this.zone);
    const found = new Set<number>();
    let stopAfterLocal = Number.POSITIVE_INFINITY;
    this.ruleFrom(this.shiftedStart(low)).between(new Date(low), new Date(high), true, (date) => {
      const local = date.getTime();
      if (local > stopAfterLocal) return false;
      if (local <= low || this.isExcluded(local)) return true;
      const instant = resolver.resolve(local);
      if (instant > after && instant <= until) {
        found.add(instant);
        // Enough found; keep going only as far as a later local time could still resolve earlier.
        if (found.size === limit) {
          const { min, max } = this.offsetsNear(local);
          stopAfterLocal = local + (max - min);
        }
      }
      return true;
    });
    return [...found].sort((a, b) => a - b).slice(0, limit);
  }

  private collectByNext(after: number, limit: number): number[] {
    const found: number[] = [];
    for (let cursor = this.next(after); cursor !== undefined && found.length < limit; cursor = this.next(cursor)) found.push(cursor);
    return found;
  }

  countBetween(after: number, until: number, cap: number): { count: number; capped: boolean } {
    const found = this.between(after, until, cap + 1);
    return found.length > cap ? { count: cap, capped: true } : { count: found.length, capped: false };
  }

  private expandAll(): number[] {
    const resolver = new Rfc5545Resolver(this.zone);
    const count = this.parsed.count ?? 0;
    const locals: number[] = [];
    // COUNT counts the rule's own times, before EXDATE removes any.
    let counted = 0;
    this.ruleFrom(this.dtstart).all((date) => {
      const local = date.getTime();
      if (this.timeFilter && !this.timeFilter.accepts(local)) return true;
      counted++;
      if (!this.isExcluded(local)) locals.push(local);
      return counted < count;
    });
    const instants = locals.map((local) => resolver.resolve(local));
    return [...new Set(instants)].sort((a, b) => a - b);
  }

  describe(): string {
    const { freq, options, body } = this.parsed;
    const zone = ` (${this.zone})`;
    if (options.bysetpos) return `RRULE ${body}${zone}`;
    const daily = freq === Frequency.YEARLY || freq === Frequency.MONTHLY || freq === Frequency.WEEKLY || freq === Frequency.DAILY;
    const dateRule = new (rruleLib().RRule)(
      { ...options, count: this.parsed.count ?? null, until: this.options.until ?? null, dtstart: new Date(this.dtstart), byhour: null, byminute: null, bysecond: null },
      true,
    );
    if (!dateRule.isFullyConvertibleToText()) return `RRULE ${body}${zone}`;
    const fullWords = dateRule.toText();
    // rrule puts "for N times" / "until ..." at the end; the time of day reads better before it.
    const tail = /( for \d+ times?| until .*)$/.exec(fullWords)?.[0] ?? '';
    const words = fullWords.slice(0, fullWords.length - tail.length);
    if (!daily) {
      const parts = [
        unitWords(asList(options.byhour), 'during hour'),
        unitWords(asList(options.byminute), 'at minute'),
        unitWords(asList(options.bysecond), 'at second'),
      ].filter(Boolean);
      return `${[words, ...parts].join(' ')}${tail}${zone}`;
    }
    const start = new Date(this.dtstart);
    const hours = asList(options.byhour) ?? [start.getUTCHours()];
    const minutes = asList(options.byminute) ?? [start.getUTCMinutes()];
    const seconds = asList(options.bysecond) ?? [start.getUTCSeconds()];
    const times = hours.flatMap((h) =>
      minutes.flatMap((m) => seconds.map((s) => `${pad(h)}:${pad(m)}${seconds.some((x) => x !== 0) ? `:${pad(s)}` : ''}`)),
    );
    const timeWords = times.length <= 6 ? listWords(times) : `${times.length} times a day`;
    return `${words} at ${timeWords}${tail}${zone}`;
  }
}

/** Index of the first element greater than `value` in an ascending array (its length if none). */
function firstIndexAbove(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! > value) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** "at minutes 0 and 30", "during hour 9", or '' for an absent part. */
function unitWords(values: number[] | undefined, phrase: string): string {
  if (!values) return '';
  return `${phrase}${values.length > 1 ? 's' : ''} ${listWords(values.map(String))}`;
}
