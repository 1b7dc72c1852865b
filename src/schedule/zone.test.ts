import { describe, expect, it } from 'vitest';
import {
  formatNaive,
  formatOffset,
  gapAround,
  isValidTimeZone,
  localParts,
  localToInstants,
  offsetAt,
  OffsetTimeline,
  recentTransition,
  resolveLocalRfc5545,
  Rfc5545Resolver,
} from './zone.js';

const at = (iso: string) => Date.parse(iso);
/** A naive local time written without an offset, e.g. naive('2026-03-29T01:30'). */
const naive = (local: string) => Date.parse(`${local}Z`);
const H = 3_600_000;
const M = 60_000;

describe('isValidTimeZone', () => {
  it.each(['UTC', 'Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Etc/GMT+5'])('accepts %s', (zone) => {
    expect(isValidTimeZone(zone)).toBe(true);
  });
  it.each(['', ' ', 'Mars/Olympus', 'Europe/Londn', 'GMT+25'])('rejects %j', (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });
});

describe('offsetAt', () => {
  it.each([
    ['Europe/London', '2026-01-15T12:00:00Z', 0],
    ['Europe/London', '2026-07-15T12:00:00Z', 1 * H],
    ['America/New_York', '2026-01-15T12:00:00Z', -5 * H],
    ['America/New_York', '2026-07-15T12:00:00Z', -4 * H],
    ['Australia/Lord_Howe', '2026-01-15T12:00:00Z', 11 * H],
    ['Australia/Lord_Howe', '2026-07-15T12:00:00Z', 10 * H + 30 * M],
    ['Asia/Kolkata', '2026-07-15T12:00:00Z', 5 * H + 30 * M],
    ['UTC', '2026-07-15T12:00:00Z', 0],
  ])('%s at %s is %d ms', (zone, instant, expected) => {
    expect(offsetAt(at(instant), zone)).toBe(expected);
  });

  it('switches exactly at the transition instant', () => {
    // London springs forward at 01:00 UTC on the last Sunday of March.
    expect(offsetAt(at('2026-03-29T00:59:59.999Z'), 'Europe/London')).toBe(0);
    expect(offsetAt(at('2026-03-29T01:00:00Z'), 'Europe/London')).toBe(H);
  });

  it('reads local mean time in the first centuries and before 1 CE', () => {
    // Before railway time London kept its local mean time, -0:01:15; Kolkata's was +5:53:28.
    const yearStart = (year: number) => new Date(0).setUTCFullYear(year, 5, 1);
    for (const year of [1500, 999, 50, 1, 0, -5, -400]) {
      expect(offsetAt(yearStart(year), 'Europe/London'), `London in ${year}`).toBe(-75_000);
      expect(offsetAt(yearStart(year), 'Asia/Kolkata'), `Kolkata in ${year}`).toBe(5 * H + 53 * M + 28_000);
    }
  });

  it('throws for an unknown zone', () => {
    expect(() => offsetAt(0, 'Nowhere/Special')).toThrow(/unknown time zone/);
  });
});

describe('localParts', () => {
  it('reads the wall clock and weekday in the zone', () => {
    expect(localParts(at('2026-03-08T07:00:00Z'), 'America/New_York')).toEqual({
      year: 2026, month: 3, day: 8, hour: 3, minute: 0, second: 0, millisecond: 0, weekday: 0, offsetMs: -4 * H,
    });
    expect(localParts(at('2026-12-31T20:00:00.250Z'), 'Asia/Kolkata')).toEqual({
      year: 2027, month: 1, day: 1, hour: 1, minute: 30, second: 0, millisecond: 250, weekday: 5, offsetMs: 5.5 * H,
    });
  });
});

describe('localToInstants', () => {
  it.each([
    ['an ordinary time', 'Europe/London', '2026-06-01T12:00', ['2026-06-01T11:00:00.000Z']],
    ['a London spring-forward gap', 'Europe/London', '2026-03-29T01:30', []],
    ['a London fall-back overlap', 'Europe/London', '2026-10-25T01:30', ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']],
    ['a New York gap', 'America/New_York', '2026-03-08T02:30', []],
    ['a New York overlap', 'America/New_York', '2026-11-01T01:30', ['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z']],
    ['the Lord Howe half-hour gap', 'Australia/Lord_Howe', '2026-10-04T02:15', []],
    ['the Lord Howe half-hour overlap', 'Australia/Lord_Howe', '2026-04-05T01:45', ['2026-04-04T14:45:00.000Z', '2026-04-04T15:15:00.000Z']],
    ['Kolkata', 'Asia/Kolkata', '2026-03-08T02:30', ['2026-03-07T21:00:00.000Z']],
  ])('%s', (_label, zone, local, expected) => {
    expect(localToInstants(naive(local), zone).map((t) => new Date(t).toISOString())).toEqual(expected);
  });

  it('treats the first instant after a gap as existing', () => {
    expect(localToInstants(naive('2026-03-08T03:00'), 'America/New_York')).toEqual([at('2026-03-08T07:00:00Z')]);
  });
});

describe('gapAround', () => {
  it('finds the first instant after the gap and the offsets either side', () => {
    expect(gapAround(naive('2026-03-08T02:30'), 'America/New_York')).toEqual({ at: at('2026-03-08T07:00:00Z'), offsetBefore: -5 * H, offsetAfter: -4 * H });
    expect(gapAround(naive('2026-10-04T02:00'), 'Australia/Lord_Howe')).toEqual({
      at: at('2026-10-03T15:30:00Z'),
      offsetBefore: 10.5 * H,
      offsetAfter: 11 * H,
    });
  });

  it('is undefined for a time that exists', () => {
    expect(gapAround(naive('2026-10-25T01:30'), 'Europe/London')).toBeUndefined();
  });
});

describe('resolveLocalRfc5545', () => {
  it('reads a gap time with the offset before the gap (RFC 5545 example)', () => {
    expect(resolveLocalRfc5545(naive('2007-03-11T02:30'), 'America/New_York')).toBe(at('2007-03-11T07:30:00Z'));
  });
  it('takes the first of two occurrences', () => {
    expect(resolveLocalRfc5545(naive('2026-11-01T01:30'), 'America/New_York')).toBe(at('2026-11-01T05:30:00Z'));
    expect(resolveLocalRfc5545(naive('2026-04-05T01:45'), 'Australia/Lord_Howe')).toBe(at('2026-04-04T14:45:00Z'));
  });
  it('reads a Lord Howe gap time with +10:30', () => {
    expect(resolveLocalRfc5545(naive('2026-10-04T02:15'), 'Australia/Lord_Howe')).toBe(at('2026-10-03T15:45:00Z'));
  });
});

describe('Rfc5545Resolver', () => {
  it('agrees with resolveLocalRfc5545 on every quarter hour across both New York transitions', () => {
    for (const day of ['2026-03-07T20:00', '2026-10-31T20:00']) {
      const resolver = new Rfc5545Resolver('America/New_York');
      for (let local = naive(day); local < naive(day) + 12 * H; local += 15 * M) {
        expect(resolver.resolve(local)).toBe(resolveLocalRfc5545(local, 'America/New_York'));
      }
    }
  });
});

describe('recentTransition', () => {
  it('reports a fall-back within the last day', () => {
    expect(recentTransition(at('2026-10-25T01:20:00Z'), 'Europe/London')).toEqual({ at: at('2026-10-25T01:00:00Z'), offsetBefore: H, offsetAfter: 0 });
  });
  it('includes a change exactly at the instant', () => {
    expect(recentTransition(at('2026-03-08T07:00:00Z'), 'America/New_York')?.at).toBe(at('2026-03-08T07:00:00Z'));
  });
  it('is undefined when nothing changed', () => {
    expect(recentTransition(at('2026-07-01T00:00:00Z'), 'Europe/London')).toBeUndefined();
    expect(recentTransition(at('2026-10-25T00:59:59Z'), 'Europe/London')).toBeUndefined();
  });
});

describe('OffsetTimeline', () => {
  it('finds the first instant with a different offset', () => {
    const timeline = new OffsetTimeline('Europe/London');
    expect(timeline.changeBetween(at('2026-03-20T00:00:00Z'), at('2026-04-10T00:00:00Z'))).toBe(at('2026-03-29T01:00:00Z'));
    expect(timeline.offsetAt(at('2026-03-29T00:59:59Z'))).toBe(0);
  });
  it('reports nothing for a stretch without changes, including the end point', () => {
    const timeline = new OffsetTimeline('Australia/Lord_Howe');
    expect(timeline.changeBetween(at('2026-05-01T00:00:00Z'), at('2026-10-03T15:29:59Z'))).toBeUndefined();
    expect(timeline.changeBetween(at('2026-05-01T00:00:00Z'), at('2026-10-03T15:30:00Z'))).toBe(at('2026-10-03T15:30:00Z'));
  });
  it('never changes in a zone without DST', () => {
    expect(new OffsetTimeline('Asia/Kolkata').changeBetween(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('formatting helpers', () => {
  it.each([
    [0, '+00:00'],
    [H, '+01:00'],
    [-5 * H, '-05:00'],
    [5.5 * H, '+05:30'],
    [-(3 * H + 30 * M), '-03:30'],
    [-75_000, '-00:01:15'],
  ])('formatOffset(%d) = %s', (offset, expected) => {
    expect(formatOffset(offset)).toBe(expected);
  });
  it('formats naive times with milliseconds only when present', () => {
    expect(formatNaive(naive('2026-03-29T02:00:00'))).toBe('2026-03-29T02:00:00');
    expect(formatNaive(naive('2026-03-29T02:00:00.125'))).toBe('2026-03-29T02:00:00.125');
  });
});
