import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isoTime, MAX_TIMER_STEP_MS, systemClock } from './clock.js';

const DAY = 86_400_000;

describe('systemClock.setTimer', () => {
  let armed: number[];

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-03-01T00:00:00Z') });
    armed = [];
    const real = globalThis.setTimeout;
    // Records every delay the clock hands to Node's setTimeout.
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      armed.push(ms ?? 0);
      return real(fn, ms);
    }) as typeof setTimeout);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('waits the full 30 days, never arming a timer Node would clamp to 1 ms', () => {
    const fn = vi.fn();
    systemClock.setTimer(30 * DAY, fn);
    vi.advanceTimersByTime(1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(armed.length).toBeGreaterThan(1);
    for (const ms of armed) expect(ms).toBeLessThanOrEqual(MAX_TIMER_STEP_MS);
    vi.advanceTimersByTime(365 * DAY);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('cancels a chained wait whichever step is armed', () => {
    const fn = vi.fn();
    const timer = systemClock.setTimer(60 * DAY, fn);
    vi.advanceTimersByTime(40 * DAY);
    timer.cancel();
    vi.advanceTimersByTime(100 * DAY);
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-reads the wall clock between steps: a clock that jumped forward fires at the next step', () => {
    const fn = vi.fn();
    systemClock.setTimer(50 * DAY, fn);
    // As after a suspend: the wall clock moved 40 days while no timer ran.
    vi.setSystemTime(Date.now() + 40 * DAY);
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('keeps a short timer a single plain setTimeout', () => {
    const fn = vi.fn();
    systemClock.setTimer(1500, fn);
    vi.advanceTimersByTime(1499);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(armed).toEqual([1500]);
  });
});

describe('isoTime', () => {
  it('is new Date(ms).toISOString(), also when asked for the same instant again or in turns', () => {
    for (const ms of [0, 1_772_366_400_000, 1_772_366_400_000, 1_772_366_400_001, 1_772_366_400_000, -1, 8.64e15]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
