/**
 * Time-zone arithmetic on top of Intl, with no dependencies.
 *
 * Two kinds of millisecond numbers appear here and must not be mixed up:
 *  - an *instant*: real epoch milliseconds (what Date.now() returns);
 *  - a *naive local* time: the wall-clock reading in some zone, encoded as if
 *    it were UTC (so `Date.UTC(2026, 2, 8, 2, 30)` is "02:30 on 8 March" in
 *    whatever zone we are talking about). Calendar math on naive values is
 *    plain UTC math: every naive day is exactly 24 hours long.
 *
 * `offset = naive local - instant`, in milliseconds (London summer: +3_600_000).
 *
 * Zone transitions are found by sampling the offset once a day and bisecting
 * to the second. That relies on a zone never changing its offset twice within
 * 24 hours and ending up where it started; across all zones in the tz database
 * from 1900 to 2100 consecutive transitions are at least ~7 days apart.
 */

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * A pure memo of formatters, one per zone: `Intl.DateTimeFormat` construction
 * costs far more than formatting, and a formatter is immutable, so sharing the
 * cache across callers changes no behaviour.
 */
const formatterCache = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let formatter = formatterCache.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', { timeZone, ...NUMERIC_FIELDS });
    } catch {
      formatter = null;
    }
    formatterCache.set(timeZone, formatter);
  }
  return formatter;
}

const NUMERIC_FIELDS = {
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
} as const;

/** Only for instants before ANCIENT_BEFORE, where the year alone cannot tell 7 BC from 7 CE; built on first need. */
const eraFormatterCache = new Map<string, Intl.DateTimeFormat>();

function eraFormatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = eraFormatterCache.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, era: 'short', ...NUMERIC_FIELDS });
    eraFormatterCache.set(timeZone, formatter);
  }
  return formatter;
}

function requireFormatter(timeZone: string): Intl.DateTimeFormat {
  const formatter = formatterFor(timeZone);
  if (!formatter) throw new RangeError(`unknown time zone "${timeZone}"`);
  return formatter;
}

/**
 * `UTC` is answered without Intl: the first `Intl.DateTimeFormat` maps ICU's locale and time-zone data and builds
 * its formatters, ~7.5 MB of RSS, which an appliance whose schedules all run on UTC (the Pi image's default zone)
 * never needs. Intl agrees: UTC's offset is 0 at every instant.
 */
const UTC = 'UTC';

/** True for any zone name Intl understands: IANA names, their aliases, `UTC`. */
export function isValidTimeZone(timeZone: string): boolean {
  return timeZone === UTC || (typeof timeZone === 'string' && timeZone.trim() !== '' && formatterFor(timeZone) !== null);
}

/** `format()` is about three times faster than `formatToParts()`; its en-US numeric shape is "3/8/2026, 02:30:00". */
const EN_US_NUMERIC = /^(\d{1,2})\/(\d{1,2})\/(\d{1,6}), (\d{2}):(\d{2}):(\d{2})$/;

/**
 * Before this instant (2 January 1000 CE, a day clear of any zone's offset) the fast path cannot be used: the en-US
 * year carries no era, so "12/31/7" is 7 CE or 7 BC, and `Date.UTC` reads years 0-99 as 1900-1999.
 */
const ANCIENT_BEFORE = Date.UTC(1000, 0, 2);

/** The naive local time of `instant` in `timeZone`, to the whole second. */
function naiveLocalSeconds(instant: number, timeZone: string): number {
  const formatter = requireFormatter(timeZone);
  if (instant < ANCIENT_BEFORE) return naiveFromParts(eraFormatterFor(timeZone).formatToParts(instant));
  const match = EN_US_NUMERIC.exec(formatter.format(instant));
  if (match) {
    return Date.UTC(Number(match[3]), Number(match[1]) - 1, Number(match[2]), Number(match[4]), Number(match[5]), Number(match[6]));
  }
  return naiveFromParts(formatter.formatToParts(instant));
}

/** For ancient instants (with the era) and shapes the regex does not cover; `setUTCFullYear` takes years 0-99 as they are. */
function naiveFromParts(parts: Intl.DateTimeFormatPart[]): number {
  const value = (type: Intl.DateTimeFormatPartTypes): number => {
    const part = parts.find((p) => p.type === type);
    return part ? Number(part.value) : 0;
  };
  const era = parts.find((p) => p.type === 'era')?.value;
  const year = era && /^B/i.test(era) ? 1 - value('year') : value('year');
  const date = new Date(0);
  date.setUTCFullYear(year, value('month') - 1, value('day'));
  date.setUTCHours(value('hour'), value('minute'), value('second'), 0);
  return date.getTime();
}

/** UTC offset of `timeZone` at `instant`, in milliseconds (local minus UTC). */
export function offsetAt(instant: number, timeZone: string): number {
  if (timeZone === UTC) return 0;
  const wholeSecond = Math.floor(instant / SECOND_MS) * SECOND_MS;
  return naiveLocalSeconds(wholeSecond, timeZone) - wholeSecond;
}

/** The naive local time of `instant` (milliseconds kept). */
export function toNaiveLocal(instant: number, timeZone: string): number {
  return instant + offsetAt(instant, timeZone);
}

export interface LocalParts {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
  /** 0-23 */
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
  /** Local minus UTC, milliseconds. */
  offsetMs: number;
}

/** Wall-clock fields of `instant` in `timeZone`. */
export function localParts(instant: number, timeZone: string): LocalParts {
  const offsetMs = offsetAt(instant, timeZone);
  return { ...naiveParts(instant + offsetMs), offsetMs };
}

export type NaiveParts = Omit<LocalParts, 'offsetMs'>;

/** Calendar fields of a naive local time. */
export function naiveParts(naive: number): NaiveParts {
  const date = new Date(naive);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    millisecond: date.getUTCMilliseconds(),
    weekday: date.getUTCDay(),
  };
}

/**
 * Every instant whose local reading in `timeZone` is `naive`: none when the
 * local time falls in a spring-forward gap, two (earliest first) when it falls
 * in a fall-back overlap, otherwise one.
 */
export function localToInstants(naive: number, timeZone: string): number[] {
  // Offsets lie within ±14 h, so every instant reading `naive` lies within a
  // day of it; the offsets in force a day either side are the only candidates.
  const candidates = new Set([offsetAt(naive - DAY_MS, timeZone), offsetAt(naive, timeZone), offsetAt(naive + DAY_MS, timeZone)]);
  const instants: number[] = [];
  for (const offset of candidates) {
    const instant = naive - offset;
    if (offsetAt(instant, timeZone) === offset) instants.push(instant);
  }
  return [...new Set(instants)].sort((a, b) => a - b);
}

export interface Transition {
  /** The first instant with the new offset. */
  at: number;
  offsetBefore: number;
  offsetAfter: number;
}

/**
 * The zone change around a local time that does not exist: `at` is the first
 * real instant after the gap (for America/New_York 2026-03-08T02:30 that is
 * 07:00Z, i.e. 03:00 EDT). Undefined if `naive` is not in a gap.
 */
export function gapAround(naive: number, timeZone: string): Transition | undefined {
  if (localToInstants(naive, timeZone).length > 0) return undefined;
  // Before the change local = t + before, after it local = t + after, and the
  // gap [T + before, T + after) contains `naive`, so T is in (naive - after, naive - before].
  const offsetBefore = offsetAt(naive - DAY_MS, timeZone);
  const offsetAfter = offsetAt(naive + DAY_MS, timeZone);
  const at = firstChangeIn(naive - offsetAfter - SECOND_MS, naive - offsetBefore, offsetAt(naive - offsetAfter - SECOND_MS, timeZone), timeZone);
  return { at, offsetBefore: offsetAt(at - SECOND_MS, timeZone), offsetAfter: offsetAt(at, timeZone) };
}

/**
 * RFC 5545 §3.3.5 reading of a local time: the first instant if it occurs
 * twice, and for a time inside a gap the offset in force BEFORE the gap
 * (America/New_York 2007-03-11T02:30 → 03:30 EDT).
 */
export function resolveLocalRfc5545(naive: number, timeZone: string): number {
  const instants = localToInstants(naive, timeZone);
  if (instants[0] !== undefined) return instants[0];
  const gap = gapAround(naive, timeZone);
  // Without a gap we would have found an instant; fall back to the plain offset defensively.
  return naive - (gap ? gap.offsetBefore : offsetAt(naive, timeZone));
}

/**
 * The most recent offset change in `(instant - lookBackMs, instant]`, or
 * undefined. Used to learn whether `instant` sits just after a fall-back
 * (its local time was already seen) or exactly at the end of a gap.
 */
export function recentTransition(instant: number, timeZone: string, lookBackMs = DAY_MS): Transition | undefined {
  const now = offsetAt(instant, timeZone);
  const start = instant - lookBackMs;
  const then = offsetAt(start, timeZone);
  if (then === now) return undefined;
  const at = firstChangeIn(start, instant, then, timeZone);
  return { at, offsetBefore: offsetAt(at - SECOND_MS, timeZone), offsetAfter: offsetAt(at, timeZone) };
}

/**
 * First whole-second instant in `(from, to]` whose offset differs from
 * `offset`, assuming the offset at `to` differs (bisection). Transitions in
 * the tz database always fall on whole seconds.
 */
function firstChangeIn(from: number, to: number, offset: number, timeZone: string): number {
  let good = Math.floor(from / SECOND_MS); // a second known to carry `offset`
  let bad = Math.floor(to / SECOND_MS); // a second known to differ
  while (bad - good > 1) {
    const mid = good + Math.floor((bad - good) / 2);
    if (offsetAt(mid * SECOND_MS, timeZone) === offset) good = mid;
    else bad = mid;
  }
  return bad * SECOND_MS;
}

/**
 * Walks a zone's offsets forward in time, remembering how far the current
 * offset has been verified, so iterating a dense schedule costs one Intl call
 * per day rather than one per occurrence. Create one per walk; it only ever
 * moves forward efficiently.
 */
export class OffsetTimeline {
  private spanStart = Number.NaN;
  /** The offset is known to hold on [spanStart, verifiedUntil]. */
  private verifiedUntil = Number.NaN;
  private spanOffset = 0;
  /** First instant after the span with another offset, once found. */
  private changeAt: number | undefined;

  constructor(readonly timeZone: string) {}

  offsetAt(instant: number): number {
    if (instant >= this.spanStart && instant <= this.verifiedUntil) return this.spanOffset;
    this.spanOffset = offsetAt(instant, this.timeZone);
    this.spanStart = instant;
    this.verifiedUntil = instant;
    this.changeAt = undefined;
    return this.spanOffset;
  }

  /** First instant in `(from, to]` whose offset differs from the one at `from`, or undefined. */
  changeBetween(from: number, to: number): number | undefined {
    const offset = this.offsetAt(from);
    while (this.changeAt === undefined && this.verifiedUntil <= to) {
      // Verify a whole day at a time (even past `to`): the next call usually asks about the same day.
      const probe = this.verifiedUntil + DAY_MS;
      if (offsetAt(probe, this.timeZone) === offset) {
        this.verifiedUntil = probe;
      } else {
        this.changeAt = firstChangeIn(this.verifiedUntil, probe, offset, this.timeZone);
        this.verifiedUntil = this.changeAt - 1;
      }
    }
    return this.changeAt !== undefined && this.changeAt <= to ? this.changeAt : undefined;
  }
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** `+01:00`, `-03:30`, `+00:00`; seconds appear only for historical local mean time. */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.abs(Math.round(offsetMs / SECOND_MS));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return `${sign}${pad(hours)}:${pad(minutes)}${seconds ? `:${pad(seconds)}` : ''}`;
}

/** Naive local time as `2026-03-29T02:00:00` (milliseconds only when non-zero). */
export function formatNaive(naive: number): string {
  const p = naiveParts(naive);
  const year = p.year >= 0 && p.year <= 9999 ? pad(p.year, 4) : String(p.year);
  const ms = p.millisecond ? `.${pad(p.millisecond, 3)}` : '';
  return `${year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${ms}`;
}

/**
 * `resolveLocalRfc5545` for many ascending local times: inside a stretch of
 * constant offset the answer is `naive - offset`, so only the first time in
 * each stretch (and anything near a change) takes the slow path.
 */
export class Rfc5545Resolver {
  private readonly timeline: OffsetTimeline;
  /** A resolved instant whose local time occurred for the first time there; later ones in its stretch are too. */
  private anchor: number | undefined;
  private anchorOffset = 0;

  constructor(readonly timeZone: string) {
    this.timeline = new OffsetTimeline(timeZone);
  }

  resolve(naive: number): number {
    if (this.anchor !== undefined) {
      const guess = naive - this.anchorOffset;
      if (guess >= this.anchor && this.timeline.changeBetween(this.anchor, guess) === undefined) return guess;
    }
    const instant = resolveLocalRfc5545(naive, this.timeZone);
    const offset = this.timeline.offsetAt(instant);
    // A time inside a gap resolves with the offset before it; do not anchor on it.
    if (instant + offset === naive) {
      this.anchor = instant;
      this.anchorOffset = offset;
    } else {
      this.anchor = undefined;
    }
    return instant;
  }
}
